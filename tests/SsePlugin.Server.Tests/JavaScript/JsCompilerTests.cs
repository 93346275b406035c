using System.Globalization;
using Jint;
using Qlik.Sse;
using SsePlugin.JavaScript;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Scripting;
using SsePlugin.Server.Tests.Invocation;

namespace SsePlugin.Server.Tests.JavaScript;

/// <summary>
/// Which scripts are compiled instead of interpreted, and a differential test: generated expressions of the compiled
/// subset answer exactly what Jint answers for them, over edge values, through the real invoker.
/// </summary>
public sealed class JsCompilerTests
{
    private static readonly double[] EdgeNumbers =
    [
        0, -0.0, 1, -1, 0.5, -0.5, -1.5, 2.5, -2.5, 0.49999999999999994, -0.49999999999999994, 0.1, -7, 3, 1e308,
        -1e308, double.Epsilon, -double.Epsilon, double.NaN, double.PositiveInfinity, double.NegativeInfinity,
        4503599627370497, -4503599627370495.5, 9007199254740993, 123456789.125, 1e21, 1e-7, 2147483648,
        4503599627370498, -4503599627370498, 9007199254740994, -9007199254740994, -2, 1e10, 3e9, -2147483648,
    ];

    private static readonly string?[] EdgeTexts =
        ["", "a", "Zürich", "😀", "\uD800", "10", " 12 ", "1e3", "-0", "Infinity", "0x1F", "b", null, "A", "aa"];

    private static readonly ParameterDefinition[] Parameters =
    [
        new("a", SseDataType.Numeric), new("b", SseDataType.Numeric), new("s", SseDataType.String),
        new("t", SseDataType.String),
    ];

    [Theory]
    [InlineData("args[0] + args[1]")]
    [InlineData("(args[0] - 32) / 1.8 % 0x10")]
    [InlineData("-args[1] * +args[0] - 1e3;")]
    [InlineData("Math.round(args[0] * 100) / 100 + (args[1] > 0 ? 1 : 0)")]
    [InlineData("args[0] > 0 ? args[0] : 0")]
    [InlineData("args[2] + ' ' + args[3]")]
    [InlineData("args[2].length + Math.max(args[0], args[1], 0) ** 2")]
    [InlineData("!(args[0] === args[1]) && args[2] < args[3]")]
    [InlineData("args[0] || NaN || Infinity || Math.PI")]
    [InlineData("q => q.a.map((x, i) => x + q.b[i])")]
    [InlineData("q => q.s.map(x => x + '!')")]
    [InlineData("t => t['a'].map((a, row) => a > row ? t.s[row] : t.t[row])")]
    public void Pure_expressions_are_compiled(string script) => Assert.NotNull(Compiled(script));

    [Theory]
    [InlineData("args[0] + args[4]")] // no such parameter: undefined
    [InlineData("args[0] + args[0.5]")]
    [InlineData("args[0] + args['1']")]
    [InlineData("args[0] + 1n")]
    [InlineData("Math.random()")]
    [InlineData("Math.round(args[0], 1)")]
    [InlineData("Math.round(...args)")]
    [InlineData("Math?.abs(args[0])")]
    [InlineData("args[0] + x")]
    [InlineData("x = args[0]")]
    [InlineData("args[0]++")]
    [InlineData("(args[0], args[1])")]
    [InlineData("args?.[0] + 1")]
    [InlineData("let x = 1; args[0] + x")]
    [InlineData("args[0] + args[1];;")]
    [InlineData("args[0] > 0 ? args[0] : 'none'")] // a number or a text
    [InlineData("args[0] && args[2]")]
    [InlineData("args[0] ?? 1")]
    [InlineData("args[0] | 0")]
    [InlineData("args[2].toUpperCase()")]
    [InlineData("args.length")]
    [InlineData("args[0].length")]
    [InlineData("`${args[0]}`")]
    [InlineData("typeof args[0]")]
    [InlineData("q => q.a")]
    [InlineData("q => q.c.map(x => x)")] // no such column
    [InlineData("q => q.a.map((x, i, all) => x + all[i])")]
    [InlineData("q => q.a.map(x => { return x; })")]
    [InlineData("q => q.a.map(async x => x)")]
    [InlineData("q => q.a.map((x, i) => x + q.b[i + 1])")]
    [InlineData("q => q.a.map((q, i) => q + q.b[i])")] // q is the element inside
    [InlineData("q => q.a.map((x, Math) => Math.abs(x))")]
    [InlineData("q => q.a.map(x => args[0])")]
    [InlineData("q => q.a.map(x => q.a.length)")]
    [InlineData("q => q.a.map(x => x).reverse()")]
    [InlineData("q => q.__proto__.map(x => x)")]
    [InlineData("async q => q.a.map(x => x)")]
    public void Anything_else_runs_in_the_interpreter(string script) => Assert.Null(Compiled(script));

    [Fact]
    public void Dual_parameters_and_aggregations_run_in_the_interpreter()
    {
        Assert.Null(Compiled("args[0] + 1", parameters: [new("d", SseDataType.Dual)]));
        Assert.Null(Compiled("q => q.d.map(x => 1)", parameters: [new("d", SseDataType.Dual)]));
        Assert.Null(Compiled("args[0] + args[1]", type: SseFunctionType.Aggregation));
        Assert.NotNull(Compiled("args[0] + args[1]", type: SseFunctionType.Scalar));
    }

    [Fact]
    public void Expressions_nested_too_deeply_to_compile_here_run_in_the_interpreter()
    {
        Assert.NotNull(Compiled(Negated(63)));
        Assert.Null(Compiled(Negated(64)));
    }

    [Fact]
    public void Expressions_of_more_than_a_thousand_nodes_run_in_the_interpreter()
    {
        // Math.max nests one call per argument, which would be compiled recursively, outside the call's time limit.
        Assert.NotNull(Compiled(MaxOf(999)));
        Assert.Null(Compiled(MaxOf(1000)));
        Assert.Null(Compiled(MaxOf(100_000)));
    }

    [Fact]
    public async Task Scripts_are_compiled_for_their_exact_parameters()
    {
        // One text parameter named "a\n1b" and the parameters a (text) and b (number) are different call shapes.
        using var engine = new JintScriptEngine(Microsoft.Extensions.Options.Options.Create(new JavaScriptOptions()));
        var functions = new ScriptFunctions(engine);
        var twoColumns = new BundledRows
        {
            Rows = { new Row { Duals = { new Dual { StrData = "x" }, new Dual { NumData = 2 } } } },
        };
        var oneColumn = new BundledRows { Rows = { new Row { Duals = { new Dual { StrData = "x" } } } } };

        var doubled = await Calls.RunAsync(
            functions.Resolve(
                new("args[1] * 2", SseFunctionType.Tensor, SseDataType.Numeric,
                    [new("a", SseDataType.String), new("b", SseDataType.Numeric)])),
            twoColumns);
        var missing = await Calls.RunAsync(
            functions.Resolve(
                new("args[1] * 2", SseFunctionType.Tensor, SseDataType.Numeric, [new("a\n1b", SseDataType.String)])),
            oneColumn);

        Assert.Equal(4, doubled.Rows[0].Duals[0].NumData);
        Assert.True(double.IsNaN(missing.Rows[0].Duals[0].NumData));
    }

    [Theory]
    [InlineData("Math.pow(args[0], args[1])")]
    [InlineData("args[0] ** args[1]")]
    [InlineData("Math.round(args[0]) + Math.round(args[1])")]
    [InlineData("Math.max(args[0], args[1]) - Math.min(args[1], args[0])")]
    public async Task Math_functions_answer_what_Jint_answers_for_every_pair_of_edge_numbers(string script)
    {
        var rows = new BundledRows();
        foreach (var x in EdgeNumbers)
        {
            foreach (var y in EdgeNumbers)
            {
                rows.Rows.Add(new Row
                {
                    Duals = { new Dual { NumData = x }, new Dual { NumData = y }, new Dual(), new Dual() },
                });
            }
        }

        Assert.NotNull(Compiled(script));
        await AssertAnswersAsJintAsync(script, SseDataType.Numeric, rows);
    }

    [Fact]
    public async Task Generated_expressions_answer_what_Jint_answers_bit_for_bit()
    {
        var random = new Random(18);
        var rows = Rows();
        var compiled = 0;
        for (var n = 0; n < 400; n++)
        {
            var expression = Generate(random, 3);
            var returnType = (SseDataType)(n % 3);
            var perRow = Fill(expression, "args[0]", "args[1]", "args[2]");
            var wholeColumn = n % 2 == 0
                ? "q => q.a.map((x, i) => " + Fill(expression, "x", "q.b[i]", "q.s[i]") + ")"
                : "q => q.s.map((x, i) => " + Fill(expression, "q.a[i]", "i", "x") + ")";
            foreach (var script in new[] { perRow, wholeColumn })
            {
                if (Compiled(script, returnType) is null)
                {
                    continue;
                }

                compiled++;
                await AssertAnswersAsJintAsync(script, returnType, rows);
            }
        }

        // Most generated expressions are in the subset: the comparison is not vacuous.
        Assert.True(compiled > 300, $"only {compiled} scripts compiled");
    }

    /// <summary>The compiled script answers every row exactly as Jint does, which runs it after a statement.</summary>
    private static async Task AssertAnswersAsJintAsync(string script, SseDataType returnType, BundledRows rows)
    {
        var fast = await RunAsync(script, returnType, rows);
        var interpreted = await RunAsync("0; " + script, returnType, rows);
        Assert.True(interpreted.Count == rows.Rows.Count, $"{script}: {interpreted.Count} answers");
        for (var row = 0; row < rows.Rows.Count; row++)
        {
            if (!Same(interpreted[row], fast[row]))
            {
                Assert.Fail(
                    $"{script} as {returnType} at row {row} "
                    + $"({string.Join(", ", rows.Rows[row].Duals.Select(Show))}): "
                    + $"Jint {Show(interpreted[row])}, compiled {Show(fast[row])}");
            }
        }
    }

    private static string Fill(string expression, string x, string i, string s) =>
        expression.Replace("{x}", x).Replace("{i}", i).Replace("{s}", s);

    /// <summary>A random expression of the subset: {x} and {i} stand for numbers of the row, {s} for a text.</summary>
    private static string Generate(Random random, int depth)
    {
        if (depth == 0 || random.Next(5) == 0)
        {
            return random.Next(9) switch
            {
                0 or 1 => "{x}",
                2 => "{i}",
                3 => "{s}",
                4 => Pick(random, "0", "1", "2.5", "0.5", "100", "1e308", "NaN", "Infinity", "Math.PI", "(-0)"),
                5 => Pick(random, "''", "'x'", "'10'", "' '", "'😀'"),
                6 => Pick(random, "true", "false"),
                _ => "{x}",
            };
        }

        string Next() => Generate(random, depth - 1);
        return random.Next(8) switch
        {
            0 => "(" + Pick(random, "-", "+", "!") + "(" + Next() + "))",
            1 or 2 => "(" + Next() + Pick(random, " + ", " - ", " * ", " / ", " % ", " ** ") + Next() + ")",
            3 => "(" + Next() + Pick(random, " < ", " <= ", " > ", " >= ", " === ", " !== ", " == ", " != ") + Next()
                + ")",
            4 => "(" + Next() + Pick(random, " && ", " || ") + Next() + ")",
            5 => "(" + Next() + " ? " + Next() + " : " + Next() + ")",
            6 => "(" + Next() + ").length",
            _ => random.Next(3) == 0
                ? "Math." + Pick(random, "pow", "min", "max") + "(" + Next() + ", " + Next() + ")"
                : "Math." + Pick(random, "abs", "floor", "ceil", "round", "trunc", "sign", "sqrt", "exp", "log",
                    "log10", "max", "min") + "(" + Next() + ")",
        };
    }

    private static string Pick(Random random, params string[] choices) => choices[random.Next(choices.Length)];

    private static BundledRows Rows()
    {
        var bundle = new BundledRows();
        for (var i = 0; i < EdgeNumbers.Length; i++)
        {
            for (var j = 0; j < EdgeNumbers.Length; j += 3)
            {
                bundle.Rows.Add(new Row
                {
                    Duals =
                    {
                        new Dual { NumData = EdgeNumbers[i] },
                        new Dual { NumData = EdgeNumbers[(i + j) % EdgeNumbers.Length] },
                        new Dual { StrData = EdgeTexts[(i + j) % EdgeTexts.Length] ?? string.Empty },
                        new Dual { StrData = EdgeTexts[(i * 7 + j) % EdgeTexts.Length] ?? string.Empty },
                    },
                });
            }
        }

        return bundle;
    }

    private static async Task<List<Dual>> RunAsync(string script, SseDataType returnType, BundledRows rows)
    {
        using var engine = new JintScriptEngine(Microsoft.Extensions.Options.Options.Create(new JavaScriptOptions()));
        var function = new ScriptFunctions(engine).Resolve(Definition(script, returnType));
        var answers = await Calls.RunAsync(function, rows);
        return [.. answers.Rows.Select(r => r.Duals[0])];
    }

    // NaN is Qlik's null whatever its bits; every other number must match to the bit, -0 included.
    private static bool Same(Dual x, Dual y) =>
        x.StrData == y.StrData
        && (double.IsNaN(x.NumData)
            ? double.IsNaN(y.NumData)
            : BitConverter.DoubleToInt64Bits(x.NumData) == BitConverter.DoubleToInt64Bits(y.NumData));

    private static string Show(Dual dual) =>
        dual.NumData.ToString("R", CultureInfo.InvariantCulture) + " '" + dual.StrData + "'";

    private static string MaxOf(int arguments) =>
        "Math.max(" + string.Join(", ", Enumerable.Repeat("args[0]", arguments)) + ")";

    private static string Negated(int times) =>
        string.Concat(Enumerable.Repeat("-(", times)) + "args[0]" + new string(')', times);

    private static ScriptDefinition Definition(
        string script,
        SseDataType returnType = SseDataType.Numeric,
        SseFunctionType type = SseFunctionType.Tensor,
        ParameterDefinition[]? parameters = null) =>
        new(script, type, returnType, parameters ?? Parameters);

    private static JsRowAnswer? Compiled(
        string script,
        SseDataType returnType = SseDataType.Numeric,
        SseFunctionType type = SseFunctionType.Tensor,
        ParameterDefinition[]? parameters = null) =>
        JsCompiler.Compile(
            Engine.PrepareScript("{" + script + "\n}").Program, Definition(script, returnType, type, parameters));
}
