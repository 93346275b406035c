namespace SsePlugin.Rserve;

/// <summary>How <see cref="RserveProcess.StartAsync"/> runs Rserve.</summary>
public sealed class RserveProcessOptions
{
    /// <summary>Gets or sets the Rscript executable, found on the PATH when not a full path; <c>Rscript</c> by default.</summary>
    public string RscriptPath { get; set; } = "Rscript";

    /// <summary>Gets or sets the loopback port Rserve listens on; 6311 by default.</summary>
    public int Port { get; set; } = 6311;

    /// <summary>
    /// Gets or sets Rserve's password file (lines of <c>user password</c>); when set, clients must log in with a plain-text
    /// password. None (no authentication) by default.
    /// </summary>
    public string? PasswordFile { get; set; }

    /// <summary>Gets or sets how long Rserve may take to answer on its port; 30 seconds by default.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
