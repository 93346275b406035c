namespace SsePlugin.Host.Commands;

/// <summary>The exit codes of the host's commands.</summary>
internal static class ExitCodes
{
    /// <summary>Everything is in place.</summary>
    public const int Ok = 0;

    /// <summary>A problem was found (or the work could not be done).</summary>
    public const int Problem = 1;

    /// <summary>The command line (its mistake and the help were printed) or a setting is wrong.</summary>
    public const int Usage = 2;
}
