namespace SsePlugin.Server.Invocation;

/// <summary>Runs calls of one function: reads the request rows, calls the function, writes the answer.</summary>
internal abstract class FunctionInvoker
{
    /// <summary>Runs one call to its end; throws <see cref="CallFailure"/> for an error Qlik should see.</summary>
    public abstract Task InvokeAsync(FunctionCall call);
}
