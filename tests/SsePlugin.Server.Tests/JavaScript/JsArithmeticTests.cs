using Jint;
using SsePlugin.JavaScript;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Scripting;

namespace SsePlugin.Server.Tests.JavaScript;

/// <summary>
/// Which per-row scripts are plain arithmetic, computed without the interpreter: only those that cannot do anything
/// but compute a number from numbers; every other script runs in Jint with all its limits.
/// </summary>
public sealed class JsArithmeticTests
{
    [Theory]
    [InlineData("args[0] + args[1]")]
    [InlineData("(args[0] - 32) / 1.8 % 0x10")]
    [InlineData("-args[1] * +args[0] - 1e3;")]
    public void Arithmetic_on_numeric_parameters_and_number_literals_is_computed(string script) =>
        Assert.NotNull(Arithmetic(script));

    [Theory]
    [InlineData("args[0] + args[2]")] // no such parameter: undefined
    [InlineData("args[0] + args[0.5]")]
    [InlineData("args[0] + args['1']")]
    [InlineData("args[0] + args[1] + args[3]")]
    [InlineData("args[0] ** 2")] // not .NET's Math.Pow: 1 ** NaN is NaN
    [InlineData("args[0] > args[1]")] // a boolean, which a numeric answer makes null
    [InlineData("args[0] + 1n")]
    [InlineData("Math.abs(args[0])")]
    [InlineData("args[0] + x")]
    [InlineData("x = args[0]")]
    [InlineData("args[0]++")]
    [InlineData("(args[0], args[1])")]
    [InlineData("args?.[0] + 1")]
    [InlineData("let x = 1; args[0] + x")]
    [InlineData("args[0] + args[1];;")]
    [InlineData("q => q.a")]
    public void Anything_else_runs_in_the_interpreter(string script) => Assert.Null(Arithmetic(script));

    [Fact]
    public void Text_and_dual_parameters_and_answers_and_aggregations_run_in_the_interpreter()
    {
        Assert.Null(Arithmetic("args[0] + args[1]", SseDataType.String));
        Assert.Null(Arithmetic("args[0] + 1", parameters: SseDataType.String));
        Assert.Null(Arithmetic("args[0] + 1", parameters: SseDataType.Dual));
        Assert.Null(Arithmetic("args[0] + args[1]", type: SseFunctionType.Aggregation));
        Assert.NotNull(Arithmetic("args[0] + args[1]", type: SseFunctionType.Scalar));
    }

    [Fact]
    public void Expressions_nested_too_deeply_to_compute_here_run_in_the_interpreter()
    {
        Assert.NotNull(Arithmetic(Negated(63)));
        Assert.Null(Arithmetic(Negated(64)));
    }

    private static string Negated(int times) =>
        string.Concat(Enumerable.Repeat("-(", times)) + "args[0]" + new string(')', times);

    private static JsArithmetic? Arithmetic(
        string script,
        SseDataType returnType = SseDataType.Numeric,
        SseFunctionType type = SseFunctionType.Tensor,
        SseDataType parameters = SseDataType.Numeric) =>
        JsArithmetic.Of(
            Engine.PrepareScript("{" + script + "\n}").Program,
            new ScriptDefinition(
                script, type, returnType, [new ParameterDefinition("a", parameters), new("b", SseDataType.Numeric)]));
}
