using System.Reflection;
using Acornima;
using Acornima.Ast;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Scripting;
using static System.Linq.Expressions.Expression;
using Linq = System.Linq.Expressions;

namespace SsePlugin.JavaScript;

/// <summary>
/// Answers one row of a compiled script into the answer buffers, at index <paramref name="at"/>: the row
/// <paramref name="row"/> of the current message, which is row <paramref name="index"/> of the whole call.
/// </summary>
internal delegate void JsRowAnswer(
    SseColumn[] columns, int row, int index, double[] numbers, string?[] texts, int at);

/// <summary>
/// Compiles a script that is one pure expression, computed row by row, to .NET code once per script, so that it runs
/// without entering the interpreter per row. Two forms qualify: a per-row script such as
/// <c>Math.round(args[0] * 100) / 100</c>, and a whole-column script that maps one column,
/// <c>q => q.Sales.map((s, i) => s / q.Cost[i])</c>, whose callback is such an expression of the element, the index
/// and <c>q.Column[i]</c>. The expression may hold numeric and text parameters, number, text and boolean literals,
/// <c>NaN</c>, <c>Infinity</c>, <c>+ - * / % **</c>, signs, <c>!</c>, comparisons, <c>&amp;&amp; || ?:</c> with
/// operands of one type, a text's <c>length</c>, <c>Math.PI</c>, <c>Math.E</c> and the <c>Math</c> functions of
/// <see cref="MathFunctions"/>, with JavaScript's semantics (<see cref="JsOperations"/>). Such an expression cannot
/// loop, call out, allocate more than its inputs' size or keep anything from one row to the next. Every other script
/// runs in Jint.
/// </summary>
internal static class JsCompiler
{
    // Deeper expressions run in Jint: compiling one here recurses once per level.
    private const int MaxDepth = 64;

    // Larger expressions run in Jint: a Math.max of many arguments nests one call per argument, which .NET's compiler
    // recurses through, outside the call's time limit.
    private const int MaxNodes = 1000;

    private static readonly Linq.ParameterExpression Columns = Parameter(typeof(SseColumn[]), "columns");
    private static readonly Linq.ParameterExpression Row = Parameter(typeof(int), "row");
    private static readonly Linq.ParameterExpression Index = Parameter(typeof(int), "index");
    private static readonly Linq.ParameterExpression Numbers = Parameter(typeof(double[]), "numbers");
    private static readonly Linq.ParameterExpression Texts = Parameter(typeof(string?[]), "texts");
    private static readonly Linq.ParameterExpression At = Parameter(typeof(int), "at");

    /// <summary>The <c>Math</c> functions compiled, by name, with the number of arguments they take.</summary>
    private static readonly Dictionary<string, (MethodInfo Method, int Arguments)> MathFunctions = new()
    {
        ["abs"] = (Method(Math.Abs), 1),
        ["ceil"] = (Method(Math.Ceiling), 1),
        ["exp"] = (Method(Math.Exp), 1),
        ["floor"] = (Method(Math.Floor), 1),
        ["log"] = (typeof(Math).GetMethod(nameof(Math.Log), [typeof(double)])!, 1),
        ["log10"] = (Method(Math.Log10), 1),
        ["max"] = (Method(Math.Max), 2),
        ["min"] = (Method(Math.Min), 2),
        ["pow"] = (Method(JsOperations.Pow), 2),
        ["round"] = (Method(JsOperations.Round), 1),
        ["sign"] = (Method(JsOperations.Sign), 1),
        ["sqrt"] = (Method(Math.Sqrt), 1),
        ["trunc"] = (Method(Math.Truncate), 1),
    };

    /// <summary>The compiled script, or null when it is anything else and runs in Jint.</summary>
    /// <param name="program">The prepared script: the author's script wrapped in a block.</param>
    /// <param name="definition">The script's call shape.</param>
    public static JsRowAnswer? Compile(Script? program, ScriptDefinition definition)
    {
        if (definition.FunctionType == SseFunctionType.Aggregation
            || program is not { Body: [BlockStatement { Body: [ExpressionStatement { Expression: var script }] }] })
        {
            return null;
        }

        var value = script is ArrowFunctionExpression function
            ? WholeColumn(function, definition.Parameters)
            : new Scope(definition.Parameters).Compile(script, MaxDepth);
        return value is null
            ? null
            : Lambda<JsRowAnswer>(Answer(value, definition.ReturnType), Columns, Row, Index, Numbers, Texts, At)
                .Compile();
    }

    /// <summary>
    /// <c>q => q.X.map((x, i) => EXPR)</c> as the per-row expression EXPR. A numeric column's <c>map</c> makes a
    /// <c>Float64Array</c>, which holds EXPR's value as a number.
    /// </summary>
    private static Linq.Expression? WholeColumn(
        ArrowFunctionExpression function, IReadOnlyList<ParameterDefinition> parameters)
    {
        if (function is not
            {
                Async: false,
                Params: [Identifier table],
                Body: CallExpression
                {
                    Optional: false,
                    Callee: MemberExpression
                    {
                        Optional: false, Computed: false, Object: var mapped, Property: Identifier { Name: "map" },
                    },
                    Arguments: [ArrowFunctionExpression { Async: false, Body: Expression body } callback],
                },
            }
            || callback.Params is not ([Identifier] or [Identifier, Identifier])
            || Scope.ColumnOf(mapped, table.Name, parameters) is not { } column
            || parameters[column].DataType == SseDataType.Dual)
        {
            return null;
        }

        var scope = new Scope(
            parameters, table.Name, ((Identifier)callback.Params[0]).Name,
            callback.Params.Count == 2 ? ((Identifier)callback.Params[1]).Name : null, column);
        var value = scope.Compile(body, MaxDepth);
        return value is not null && parameters[column].DataType == SseDataType.Numeric ? ToNumber(value) : value;
    }

    /// <summary>Stores the value as the answer of the declared type, as <see cref="JsValues.Store"/> does.</summary>
    private static Linq.BlockExpression Answer(Linq.Expression value, SseDataType returnType)
    {
        var answer = Variable(value.Type, "answer");
        Linq.Expression number = value.Type == typeof(double) ? answer : Constant(double.NaN);
        Linq.Expression text = returnType == SseDataType.Dual && value.Type == typeof(double)
            ? Call(Method(JsOperations.DualText), answer)
            : ToText(answer);
        var stores = new List<Linq.Expression> { Assign(answer, value) };
        if (returnType != SseDataType.String)
        {
            stores.Add(Assign(ArrayAccess(Numbers, At), number));
        }

        if (returnType != SseDataType.Numeric)
        {
            stores.Add(Assign(ArrayAccess(Texts, At), text));
        }

        return Block(typeof(void), [answer], stores);
    }

    private static Linq.Expression ToNumber(Linq.Expression value) =>
        value.Type == typeof(double) ? value
        : value.Type == typeof(bool) ? Condition(value, Constant(1d), Constant(0d))
        : Call(Method(JsOperations.ToNumber), value);

    private static Linq.Expression ToText(Linq.Expression value) =>
        value.Type == typeof(string) ? value
        : value.Type == typeof(bool) ? Condition(value, Constant("true"), Constant("false"))
        : Call(Method(JsOperations.ToText), value);

    private static Linq.Expression ToBoolean(Linq.Expression value) =>
        value.Type == typeof(bool) ? value
        : value.Type == typeof(double) ? Call(Method(JsOperations.ToBoolean), value)
        : GreaterThan(Property(value, nameof(string.Length)), Constant(0));

    private static MethodInfo Method(Func<double, double> function) => function.Method;

    private static MethodInfo Method(Func<double, double, double> function) => function.Method;

    private static MethodInfo Method(Func<double, string> function) => function.Method;

    private static MethodInfo Method(Func<string, double> function) => function.Method;

    private static MethodInfo Method(Func<double, bool> function) => function.Method;

    private static MethodInfo Method(Func<SseColumn[], int, int, double> function) => function.Method;

    private static MethodInfo Method(Func<SseColumn[], int, int, string> function) => function.Method;

    /// <summary>
    /// What names mean in the expression: <c>args[i]</c> in a per-row script; in a whole-column script's callback its
    /// element, its index and the table's columns at that index.
    /// </summary>
    private sealed class Scope(
        IReadOnlyList<ParameterDefinition> parameters,
        string? table = null,
        string? element = null,
        string? index = null,
        int mapped = -1)
    {
        // The nodes compiled so far, counted against MaxNodes.
        private int nodes;

        /// <summary>The column <c>table.Name</c> or <c>table['Name']</c> reads, or null if none.</summary>
        public static int? ColumnOf(Expression expression, string table, IReadOnlyList<ParameterDefinition> parameters)
        {
            var name = expression switch
            {
                MemberExpression { Optional: false, Object: Identifier t, Computed: false, Property: Identifier p }
                    when t.Name == table => p.Name,
                MemberExpression { Optional: false, Object: Identifier t, Computed: true, Property: StringLiteral p }
                    when t.Name == table => p.Value,
                _ => null,
            };

            // q holds the columns by name, the later of two with one name; "__proto__" would set q's prototype.
            for (var c = parameters.Count - 1; name is not null and not "__proto__" && c >= 0; c--)
            {
                if (parameters[c].Name == name)
                {
                    return c;
                }
            }

            return null;
        }

        public Linq.Expression? Compile(Expression expression, int depth) => depth == 0 || ++nodes > MaxNodes
            ? null
            : expression switch
            {
                NumericLiteral literal => Constant(literal.Value),
                StringLiteral literal => Constant(literal.Value),
                BooleanLiteral literal => Constant(literal.Value),
                Identifier identifier => Name(identifier.Name),
                MemberExpression { Optional: false } member => Member(member, depth - 1),
                CallExpression
                {
                    Optional: false,
                    Callee: MemberExpression
                    {
                        Optional: false, Computed: false, Object: Identifier { Name: "Math" }, Property: Identifier f,
                    },
                } call when IsGlobal("Math") => MathCall(f.Name, call.Arguments, depth - 1),
                UnaryExpression unary => Unary(unary, depth - 1),
                LogicalExpression logical => Logical(logical, depth - 1),
                BinaryExpression binary => Binary(binary, depth - 1),
                ConditionalExpression conditional => Conditional(conditional, depth - 1),
                _ => null,
            };

        // A global that no parameter hides.
        private bool IsGlobal(string name) => name != table && NotHidden(name);

        // A name the callback's parameters do not hide.
        private bool NotHidden(string name) => name != element && name != index;

        private Linq.Expression? Name(string name) => name switch
        {
            _ when name == element => Value(mapped),
            _ when name == index => Convert(Index, typeof(double)),
            "NaN" when IsGlobal(name) => Constant(double.NaN),
            "Infinity" when IsGlobal(name) => Constant(double.PositiveInfinity),
            _ => null,
        };

        private Linq.Expression? Member(MemberExpression member, int depth) => member switch
        {
            {
                Computed: false,
                Object: Identifier { Name: "Math" },
                Property: Identifier { Name: "PI" or "E" } constant,
            }
                when IsGlobal("Math") => Constant(constant.Name == "PI" ? Math.PI : Math.E),
            { Computed: false, Property: Identifier { Name: "length" } } =>
                Compile(member.Object, depth) is { } text && text.Type == typeof(string)
                    ? Convert(Property(text, nameof(string.Length)), typeof(double))
                    : null,
            { Computed: true, Object: Identifier { Name: "args" }, Property: NumericLiteral position }
                when table is null => Argument(position.Value),
            { Computed: true, Property: Identifier i } when table is not null && i.Name == index && NotHidden(table) =>
                ColumnOf(member.Object, table, parameters) is { } column ? Value(column) : null,
            _ => null,
        };

        /// <summary><c>args[position]</c>: a numeric or text parameter's value; a dual (an object) is Jint's.</summary>
        private Linq.MethodCallExpression? Argument(double position) =>
            position >= 0 && position < parameters.Count && position == Math.Floor(position)
                ? Value((int)position)
                : null;

        private Linq.MethodCallExpression? Value(int column) => parameters[column].DataType switch
        {
            SseDataType.Numeric => Call(Method(JsOperations.Number), Columns, Constant(column), Row),
            SseDataType.String => Call(Method(JsOperations.Text), Columns, Constant(column), Row),
            _ => null,
        };

        private Linq.Expression? MathCall(string name, in NodeList<Expression> arguments, int depth)
        {
            if (!MathFunctions.TryGetValue(name, out var function)
                || arguments.Count != function.Arguments && !(name is "min" or "max" && arguments.Count >= 1))
            {
                return null;
            }

            var values = new List<Linq.Expression>();
            foreach (var argument in arguments)
            {
                if (Compile(argument, depth) is not { } value)
                {
                    return null;
                }

                values.Add(ToNumber(value));
            }

            // min and max of several values fold pairwise; of one, answer it as a number.
            return function.Arguments == 1 ? Call(function.Method, values[0])
                : values.Count == 1 ? values[0]
                : values.Skip(1).Aggregate(values[0], (x, y) => Call(function.Method, x, y));
        }

        private Linq.Expression? Unary(UnaryExpression unary, int depth) =>
            unary.Operator is Operator.UnaryNegation or Operator.UnaryPlus or Operator.LogicalNot
            && Compile(unary.Argument, depth) is { } operand
                ? unary.Operator switch
                {
                    Operator.UnaryNegation => Negate(ToNumber(operand)),
                    Operator.UnaryPlus => ToNumber(operand),
                    _ => Not(ToBoolean(operand)),
                }
                : null;

        /// <summary><c>&amp;&amp;</c> and <c>||</c> answer an operand: compiled when both have one type.</summary>
        private Linq.BlockExpression? Logical(LogicalExpression logical, int depth)
        {
            if (logical.Operator is not (Operator.LogicalAnd or Operator.LogicalOr)
                || Compile(logical.Left, depth) is not { } left
                || Compile(logical.Right, depth) is not { } right
                || left.Type != right.Type)
            {
                return null;
            }

            var first = Variable(left.Type, "first");
            return Block(
                [first],
                Assign(first, left),
                logical.Operator == Operator.LogicalAnd
                    ? Condition(ToBoolean(first), right, first)
                    : Condition(ToBoolean(first), first, right));
        }

        private Linq.ConditionalExpression? Conditional(ConditionalExpression conditional, int depth) =>
            Compile(conditional.Test, depth) is { } test
            && Compile(conditional.Consequent, depth) is { } consequent
            && Compile(conditional.Alternate, depth) is { } alternate
            && consequent.Type == alternate.Type
                ? Condition(ToBoolean(test), consequent, alternate)
                : null;

        private Linq.Expression? Binary(BinaryExpression binary, int depth)
        {
            if (Compile(binary.Left, depth) is not { } left || Compile(binary.Right, depth) is not { } right)
            {
                return null;
            }

            var texts = left.Type == typeof(string) && right.Type == typeof(string);
            return binary.Operator switch
            {
                Operator.Addition when left.Type == typeof(string) || right.Type == typeof(string) =>
                    Call(typeof(string).GetMethod(nameof(string.Concat), [typeof(string), typeof(string)])!,
                        ToText(left), ToText(right)),
                Operator.Addition => Add(ToNumber(left), ToNumber(right)),
                Operator.Subtraction => Subtract(ToNumber(left), ToNumber(right)),
                Operator.Multiplication => Multiply(ToNumber(left), ToNumber(right)),
                Operator.Division => Divide(ToNumber(left), ToNumber(right)),
                Operator.Remainder => Modulo(ToNumber(left), ToNumber(right)),
                Operator.Exponentiation => Call(Method(JsOperations.Pow), ToNumber(left), ToNumber(right)),
                Operator.LessThan or Operator.LessThanOrEqual or Operator.GreaterThan or Operator.GreaterThanOrEqual
                    when texts => Compare(binary.Operator, Ordinal(left, right), Constant(0)),
                Operator.LessThan or Operator.LessThanOrEqual or Operator.GreaterThan or Operator.GreaterThanOrEqual =>
                    Compare(binary.Operator, ToNumber(left), ToNumber(right)),
                Operator.StrictEquality => StrictlyEqual(left, right),
                Operator.StrictInequality => Not(StrictlyEqual(left, right)),
                Operator.Equality => LooselyEqual(left, right),
                Operator.Inequality => Not(LooselyEqual(left, right)),
                _ => null,
            };
        }

        private static Linq.MethodCallExpression Ordinal(Linq.Expression left, Linq.Expression right) =>
            Call(typeof(string).GetMethod(nameof(string.CompareOrdinal), [typeof(string), typeof(string)])!,
                left, right);

        private static Linq.BinaryExpression Compare(Operator op, Linq.Expression left, Linq.Expression right) =>
            op switch
            {
                Operator.LessThan => LessThan(left, right),
                Operator.LessThanOrEqual => LessThanOrEqual(left, right),
                Operator.GreaterThan => GreaterThan(left, right),
                _ => GreaterThanOrEqual(left, right),
            };

        // Values of different types are never strictly equal; both are pure, so neither needs computing.
        private static Linq.Expression StrictlyEqual(Linq.Expression left, Linq.Expression right) =>
            left.Type == right.Type ? Equal(left, right) : Constant(false);

        // == compares a boolean as a number, and a number with a text as numbers.
        private static Linq.Expression LooselyEqual(Linq.Expression left, Linq.Expression right) =>
            left.Type == right.Type ? Equal(left, right)
            : left.Type == typeof(bool) ? LooselyEqual(ToNumber(left), right)
            : right.Type == typeof(bool) ? LooselyEqual(left, ToNumber(right))
            : Equal(ToNumber(left), ToNumber(right));
    }
}
