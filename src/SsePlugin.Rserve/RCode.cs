namespace SsePlugin.Rserve;

/// <summary>Helpers for writing R code.</summary>
public static class RCode
{
    /// <summary>Writes text as a single-quoted R string literal.</summary>
    /// <param name="text">Any text.</param>
    /// <returns>The literal, quotes included: R reads it back as <paramref name="text"/>.</returns>
    public static string Quote(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return "'" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)
            + "'";
    }
}
