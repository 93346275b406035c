namespace SsePlugin.Rserve;

/// <summary>How <see cref="RserveProcess.StartAsync"/> runs Rserve.</summary>
public sealed class RserveProcessOptions
{
    /// <summary>
    /// Gets or sets the Rscript executable, found on the PATH when not a full path; <c>Rscript</c> by default.
    /// </summary>
    public string RscriptPath { get; set; } = "Rscript";

    /// <summary>Gets or sets the loopback port Rserve listens on, unless <see cref="UnixSocket"/>; 6311 by default.
    /// </summary>
    public int Port { get; set; } = 6311;

    /// <summary>
    /// Gets or sets whether Rserve listens on a Unix domain socket in its folder (not Windows), mode 0600, which no R
    /// process can connect to (isolated, none has Rserve's id; else a process running as root takes the socket), in
    /// place of <see cref="Port"/>, which every local user and R process can reach. False by default.
    /// </summary>
    public bool UnixSocket { get; set; }

    /// <summary>
    /// Gets or sets Rserve's password file (lines of <c>user password</c>); when set, clients must log in with a
    /// plain-text
    /// password. None (no authentication) by default.
    /// </summary>
    public string? PasswordFile { get; set; }

    /// <summary>Gets or sets how long Rserve may take to answer on its port; 30 seconds by default.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets R code the server runs before it serves. Rserve forks each connection's R process from the server,
    /// so every connection starts with what this code defined and loaded. None by default.
    /// </summary>
    public string? StartupScript { get; set; }

    /// <summary>
    /// Gets or sets the operating-system account R runs under (Linux, when this process runs as root): its user id,
    /// its primary group and no other groups. None by default: R runs under this process's account. Not used with
    /// <see cref="IsolationIdBase"/>.
    /// </summary>
    public string? Account { get; set; }

    /// <summary>
    /// Gets or sets the first of <see cref="RserveProcess.IsolationIds"/> user and group ids that R runs under, each
    /// connection's R process under one of its own (Linux, when this process runs as root). Rserve then runs in a user
    /// namespace of its own, whose ids 0, 1, ... are these: the server as that namespace's root (this id outside, no
    /// privilege on the machine), each connection's R process as another id (Rserve's <c>random.uid</c>), without
    /// capabilities. None by default: all R processes run under <see cref="Account"/>.
    /// </summary>
    public uint? IsolationIdBase { get; set; }

    /// <summary>Gets or sets the address space each R process may use, in bytes (Linux, RLIMIT_AS); none by default.
    /// </summary>
    public long? MemoryLimitBytes { get; set; }

    /// <summary>
    /// Gets or sets the number of processes R's account may have (Linux, RLIMIT_NPROC, counted over the whole account,
    /// so per connection with <see cref="IsolationIdBase"/>, and not enforced for root); none by default.
    /// </summary>
    public int? ProcessLimit { get; set; }
}
