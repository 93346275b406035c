using Acornima;
using Acornima.Ast;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Scripting;

namespace SsePlugin.JavaScript;

/// <summary>
/// A per-row numeric script that is plain arithmetic, such as <c>args[0] + args[1]</c> or <c>(args[0] - 32) / 1.8</c>:
/// numeric parameters and number literals joined by <c>+ - * / %</c> and signed by unary <c>-</c> or <c>+</c>. Such a
/// script cannot loop, call, allocate, match or keep anything, so it is computed here, straight from the rows' numbers
/// with the double arithmetic JavaScript (and Jint) uses, instead of entering the interpreter once per row. Every other
/// script runs in Jint.
/// </summary>
internal abstract class JsArithmetic
{
    // Deeper expressions run in Jint: computing one here recurses once per level.
    private const int MaxDepth = 64;

    /// <summary>The script's answer for one row.</summary>
    /// <param name="columns">The rows' columns, one per parameter.</param>
    /// <param name="row">The row.</param>
    public abstract double Compute(SseColumn[] columns, int row);

    /// <summary>The arithmetic of a per-row numeric script, or null when the script is anything else.</summary>
    /// <param name="program">The prepared script: the author's script wrapped in a block.</param>
    /// <param name="definition">The script's call shape.</param>
    public static JsArithmetic? Of(Script? program, ScriptDefinition definition) =>
        definition is { FunctionType: not SseFunctionType.Aggregation, ReturnType: SseDataType.Numeric }
        && program is { Body: [BlockStatement { Body: [ExpressionStatement statement] }] }
            ? Of(statement.Expression, definition.Parameters, MaxDepth)
            : null;

    private static JsArithmetic? Of(Expression expression, IReadOnlyList<ParameterDefinition> parameters, int depth) =>
        depth == 0
            ? null
            : expression switch
            {
                NumericLiteral literal => new Number(literal.Value),
                MemberExpression { Object: Identifier { Name: "args" }, Computed: true, Property: NumericLiteral index }
                    when NumericParameter(index.Value, parameters) is { } position => new Argument(position),
                UnaryExpression { Operator: Operator.UnaryPlus } plus => Of(plus.Argument, parameters, depth - 1),
                UnaryExpression { Operator: Operator.UnaryNegation } minus =>
                    Of(minus.Argument, parameters, depth - 1) is { } operand ? new Negation(operand) : null,
                BinaryExpression
                {
                    Operator: Operator.Addition or Operator.Subtraction or Operator.Multiplication or Operator.Division
                    or Operator.Remainder,
                } binary =>
                    Of(binary.Left, parameters, depth - 1) is { } left
                    && Of(binary.Right, parameters, depth - 1) is { } right
                        ? new Operation(binary.Operator, left, right)
                        : null,
                _ => null,
            };

    /// <summary>The position of the numeric parameter <c>args[index]</c> reads, or null if none.</summary>
    private static int? NumericParameter(double index, IReadOnlyList<ParameterDefinition> parameters) =>
        index >= 0 && index < parameters.Count && index == Math.Floor(index)
        && parameters[(int)index].DataType == SseDataType.Numeric
            ? (int)index
            : null;

    private sealed class Number(double value) : JsArithmetic
    {
        public override double Compute(SseColumn[] columns, int row) => value;
    }

    private sealed class Argument(int position) : JsArithmetic
    {
        public override double Compute(SseColumn[] columns, int row) => columns[position].NumberArray![row];
    }

    private sealed class Negation(JsArithmetic operand) : JsArithmetic
    {
        public override double Compute(SseColumn[] columns, int row) => -operand.Compute(columns, row);
    }

    private sealed class Operation(Operator op, JsArithmetic left, JsArithmetic right) : JsArithmetic
    {
        public override double Compute(SseColumn[] columns, int row)
        {
            var x = left.Compute(columns, row);
            var y = right.Compute(columns, row);
            return op switch
            {
                Operator.Addition => x + y,
                Operator.Subtraction => x - y,
                Operator.Multiplication => x * y,
                Operator.Division => x / y,
                _ => x % y,
            };
        }
    }
}
