using Grpc.Core;
using SsePlugin.Client;

namespace SsePlugin.FunctionalTests.Infrastructure;

/// <summary>
/// The tests' shorthand over SsePlugin.Client: rows and bundles in a line, script calls by their parts, and the calls
/// Qlik's engine would never make (headers of the test's own).
/// </summary>
internal static class SseCalls
{
    public static readonly TimeSpan CallTimeout = SseCallOptions.DefaultTimeout;

    public static SseValue[] Numeric(params double[] values) => [.. values.Select(SseValue.FromDouble)];

    public static SseValue[] Text(params string[] values) => [.. values.Select(SseValue.FromString)];

    public static SseValue[] TextAndNumber(string text, double number) => [text, number];

    public static SseBundle Bundle(IEnumerable<SseValue[]> rows) => new(rows);

    /// <summary>The headers of a function call, as Qlik's engine sends them.</summary>
    public static Metadata Headers(
        int functionId, string appId = "app", string userId = "user", long cardinality = 0) =>
        QlikCalls.Headers(functionId, appId, userId, cardinality);

    /// <summary>The headers of a script call, as Qlik's engine sends them.</summary>
    public static Metadata ScriptHeaders(
        string script,
        SseFunctionType functionType,
        SseDataType returnType,
        params (string Name, SseDataType Type)[] parameters) =>
        QlikCalls.ScriptHeaders(Script(script, functionType, returnType, parameters));

    /// <summary>Calls a function with the given headers, which may be ones Qlik's engine never sends.</summary>
    public static Task<SseAnswer> ExecuteAsync(this SseClient client, Metadata headers,
        IEnumerable<SseBundle> bundles) =>
        QlikCalls.CallAsync(
            token => client.Connector.ExecuteFunction(headers, cancellationToken: token),
            bundles.Select(bundle => bundle.Message),
            CallTimeout);

    /// <summary>Calls one of Qlik's script functions, e.g. ScriptEval('args[0] + args[1]', A, B).</summary>
    public static Task<SseAnswer> EvaluateAsync(
        this SseClient client,
        string script,
        SseFunctionType functionType,
        SseDataType returnType,
        (string Name, SseDataType Type)[] parameters,
        params SseBundle[] bundles) =>
        client.EvaluateAsync(Script(script, functionType, returnType, parameters), bundles);

    /// <summary>Asserts that a call fails, and answers it (its status and the rows that came first).</summary>
    public static async Task<SseAnswer> FailsAsync(Func<Task<SseAnswer>> call)
    {
        var answer = await call();
        Assert.False(answer.Succeeded, $"The call succeeded with {answer}.");
        return answer;
    }

    /// <summary>Asserts that something other than a call Qlik's engine makes fails with a gRPC status.</summary>
    public static Task<RpcException> FailsAsync(Func<Task> call) => Assert.ThrowsAsync<RpcException>(call);

    /// <summary>Asserts that the host still answers a normal call correctly; a failed call throws its status.</summary>
    public static async Task AssertServesAsync(this SseClient client)
    {
        var answer = (await client.ExecuteAsync(5, Bundle([Numeric(20, 22)]))).EnsureSucceeded();
        Assert.Equal([42], answer.Numbers());
    }

    private static SseScript Script(
        string script, SseFunctionType functionType, SseDataType returnType, (string Name,
            SseDataType Type)[] parameters) =>
        new(script, functionType, returnType, [.. parameters.Select(p => new SseParameter(p.Name, p.Type))]);
}
