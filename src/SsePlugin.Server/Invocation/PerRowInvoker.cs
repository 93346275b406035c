namespace SsePlugin.Server.Invocation;

/// <summary>
/// Runs a per-row function: each request message goes through one compiled loop over its rows, decoded into arrays
/// reused for every message, as the loop keeps nothing.
/// </summary>
internal sealed class PerRowInvoker(PerRowInvoker.RowLoop loop) : FunctionInvoker
{
    /// <summary>Calls the function for every row of a block and appends the answers to the output.</summary>
    public delegate void RowLoop(SseTable block, RowOutput output, SseCallContext context);

    public override async Task InvokeAsync(FunctionCall call)
    {
        var output = new RowOutput(call.Function.ReturnType, call.Response);
        while (await call.ReadTransientBlockAsync().ConfigureAwait(false) is { } block)
        {
            loop(block, output, call.Context);
            await output.FlushIfFullAsync().ConfigureAwait(false);
        }

        await output.FlushAsync().ConfigureAwait(false);
    }
}
