namespace SsePlugin.Rserve;

/// <summary>R's <c>NULL</c>.</summary>
public sealed class RNull : RValue
{
    private RNull()
    {
    }

    /// <summary>Gets the one instance.</summary>
    public static RNull Instance { get; } = new();

    /// <inheritdoc/>
    public override int Length => 0;
}
