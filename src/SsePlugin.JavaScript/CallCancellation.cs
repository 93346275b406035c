using Jint;

namespace SsePlugin.JavaScript;

/// <summary>
/// Stops a script before its next statement once its call is cancelled or out of time. Jint checks its own
/// cancellation only every 64 statements, which is far too seldom when each statement runs a long regular expression
/// match; this check reads one flag per statement.
/// </summary>
internal sealed class CallCancellation(CancellationToken token) : Constraint
{
    // Checked before every single statement, not every 64 as Jint's own cancellation check is.
    public override bool IsAmortizable => false;

    public override void Check() => token.ThrowIfCancellationRequested();

    public override void Reset()
    {
    }
}
