using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Options;
using SsePlugin.Rserve;
using SsePlugin.Server.Hosting;

namespace SsePlugin.R;

/// <summary>How the host reaches R, bound from <c>SsePlugin:Rserve</c>.</summary>
public sealed class ROptions
{
    /// <summary>The configuration section these options are read from.</summary>
    public const string Section = $"{SsePluginOptions.Section}:Rserve";

    // The longest delay a CancellationTokenSource takes, and what a timeout may be.
    private const double MaxSeconds = 4_294_967;
    private const string SecondsAllowed = "must be more than 0 and at most 4294967 (49 days).";
    private const string WriteAddress = "write host:port, e.g. 127.0.0.1:6311.";
    private const string DefaultAddress = "127.0.0.1:6311";

    /// <summary>
    /// Gets or sets the address of one Rserve as <c>host:port</c>; for several, set <see cref="Addresses"/> instead.
    /// Default none: <c>127.0.0.1:6311</c>, Rserve's own default, when <see cref="Addresses"/> is empty too.
    /// </summary>
    public string? Address { get; set; }

    /// <summary>
    /// Gets the addresses of several Rserves as <c>host:port</c> each, instead of <see cref="Address"/>: each new R
    /// session goes to the next of them that can be reached. Default none.
    /// </summary>
    public IList<string> Addresses { get; } = [];

    /// <summary>
    /// Gets or sets the user name, when Rserve requires a login (<c>auth required</c>). Default none.
    /// </summary>
    public string? User { get; set; }

    /// <summary>Gets or sets the password that goes with <see cref="User"/>.</summary>
    public string? Password { get; set; }

    /// <summary>Gets or sets how many R sessions run calls at once. Default 0: one per processor.</summary>
    [SettingRange(0, int.MaxValue, ErrorMessage = $"{Section}:PoolSize must be 0 (one session per processor) or more.")]
    public int PoolSize { get; set; }

    /// <summary>
    /// Gets or sets R code run once on every new R session, e.g. <c>library(forecast); source('helpers.R')</c>.
    /// Default none.
    /// </summary>
    public string? InitScript { get; set; }

    /// <summary>
    /// Gets or sets the time a call's R work may take before it is abandoned, in seconds; a call may wait as long
    /// again for a free session. Default 300.
    /// </summary>
    [SettingRange(
        0d, MaxSeconds, MinimumIsExclusive = true, ErrorMessage = $"{Section}:TimeoutSeconds {SecondsAllowed}")]
    public double TimeoutSeconds { get; set; } = 300;

    /// <summary>Gets or sets the time allowed to connect to Rserve, in seconds. Default 5.</summary>
    [SettingRange(
        0d, MaxSeconds, MinimumIsExclusive = true, ErrorMessage = $"{Section}:ConnectTimeoutSeconds {SecondsAllowed}")]
    public double ConnectTimeoutSeconds { get; set; } = 5;

    /// <summary>
    /// Gets or sets whether the host starts Rserve itself on loopback, restarts it if it dies and stops it on
    /// shutdown. Default false.
    /// </summary>
    public bool Start { get; set; }

    /// <summary>
    /// Gets or sets the <c>Rscript</c> program used to start Rserve when <see cref="Start"/> is set. Default
    /// <c>Rscript</c> from the path.
    /// </summary>
    public string RscriptPath { get; set; } = "Rscript";

    /// <summary>
    /// Gets or sets whether a scalar or tensor script must answer one value per row (or one value for all rows).
    /// Default false: as Qlik's R plugin does, other answers are sent as R returned them (a forecast of 12 values for a
    /// chart of 40 rows), and the log warns of each with both lengths.
    /// </summary>
    public bool StrictAnswerLength { get; set; }

    /// <summary>
    /// Gets or sets whether an R session serves call after call, put back between calls by R code that a script can
    /// undo: for trusted scripts only. Default false: each call runs in an R process no earlier call has run in, which
    /// ends with the call.
    /// </summary>
    public bool ReuseSessions { get; set; }

    /// <summary>
    /// Gets or sets the operating-system account R runs under when the host, running as root, starts Rserve (Linux) and
    /// cannot isolate R calls (see <see cref="IsolationIdBase"/>). Default none: <c>nobody</c> for a host running as
    /// root, the host's own account otherwise; <c>root</c> runs R as root, not isolated.
    /// </summary>
    public string? RunAs { get; set; }

    /// <summary>
    /// Gets or sets the first of the user and group ids R calls run under when a host running as root starts Rserve
    /// (Linux): Rserve in a user namespace of its own, each call's R process under an id of its own. A host takes the
    /// first of 16 blocks of 65536 ids from here that no other host of the machine holds. Default 2000000000, above
    /// ordinary accounts and the ranges <c>/etc/subuid</c> usually gives; 0: not isolated, R runs as
    /// <see cref="RunAs"/>.
    /// </summary>
    [SettingRange(
        0d,
        IsolationIdBlock.HighestBase,
        ErrorMessage = $"{Section}:IsolationIdBase must be 0 (R calls not isolated) or at most {{2}}.")]
    public uint IsolationIdBase { get; set; } = 2_000_000_000;

    /// <summary>
    /// Gets or sets the memory (address space) each R process may use, in megabytes, when the host starts Rserve
    /// (Linux); 0 for no limit. Default 4096.
    /// </summary>
    [ZeroOrAtLeast(256, ErrorMessage = $"{Section}:MemoryLimitMegabytes must be 0 (no limit) or at least 256.")]
    public int MemoryLimitMegabytes { get; set; } = 4096;

    /// <summary>
    /// Gets or sets how many processes R's account may have at once, when the host starts Rserve (Linux); 0 for no
    /// limit. Default 512.
    /// </summary>
    [ZeroOrAtLeast(16, ErrorMessage = $"{Section}:ProcessLimit must be 0 (no limit) or at least 16.")]
    public int ProcessLimit { get; set; } = 512;

    /// <summary>
    /// Gets the Rserves' addresses as written: <see cref="Addresses"/>, else <see cref="Address"/>, else
    /// <c>127.0.0.1:6311</c>.
    /// </summary>
    internal IReadOnlyList<string> RserveAddresses =>
        Addresses.Count > 0 ? [.. Addresses] : [Address ?? DefaultAddress];

    /// <summary>Gets the host and port of each of <see cref="RserveAddresses"/>.</summary>
    /// <exception cref="FormatException">An address is not <c>host:port</c>; the message names its setting.</exception>
    internal IReadOnlyList<(string Host, int Port)> Endpoints =>
        [.. RserveAddresses.Select((address, index) => Split(address, SettingOf(index)))];

    /// <summary>
    /// Gets or sets the operating system Rserve runs R on, as R names it (<see cref="RservePlatform"/>), learned on the
    /// first call's session; until then Rserve is taken to run on the host's.
    /// </summary>
    internal string? RserveOS { get; set; }

    /// <summary>
    /// Gets the number of R sessions of the pool. On Windows Rserve cannot fork: it serves its connections one after
    /// another in one R process, so one session is the default there (the pool is sized before the first call).
    /// </summary>
    internal int Sessions => PoolSize > 0 ? PoolSize : RserveForks ? Environment.ProcessorCount : 1;

    /// <summary>
    /// Gets whether each call gets a session of its own, closed after the call. Not with an Rserve on Windows, which
    /// does not fork: all its connections share one R process, so the host keeps its sessions.
    /// </summary>
    internal bool FreshProcesses => !ReuseSessions && RserveForks;

    private bool RserveForks =>
        RservePlatform.Forks(RserveOS ?? (OperatingSystem.IsWindows() ? RservePlatform.Windows : "unix"));

    /// <summary>
    /// Gets the account R runs under when the host starts Rserve; null for the host's own (also when RunAs names it).
    /// </summary>
    internal string? Account =>
        OperatingSystem.IsWindows() || RunAs == Environment.UserName
            ? null
            : RunAs ?? (OperatingSystem.IsLinux() && Environment.IsPrivilegedProcess ? "nobody" : null);

    /// <summary>
    /// Gets the first id of the blocks R calls may run under, when the host starts Rserve as root on Linux and neither
    /// <see cref="RunAs"/> (<c>root</c>) nor <see cref="IsolationIdBase"/> (0) opts out; else null.
    /// </summary>
    internal uint? IsolationBase =>
        Start && OperatingSystem.IsLinux() && Environment.IsPrivilegedProcess && IsolationIdBase > 0 && RunAs != "root"
            ? IsolationIdBase
            : null;

    /// <summary>
    /// Gets whether abandoned R work may be ended by killing its R process: only on the Rserve the host runs, where
    /// each session has its own.
    /// </summary>
    internal bool CanEndSessions => Start && OperatingSystem.IsLinux();

    /// <summary>
    /// Checks at start what no data annotation can say, so that a mistake stops the host instead of failing every R
    /// call: the address against <see cref="Start"/> (which needs a loopback one), <see cref="RunAs"/> against the
    /// host's own account, and <see cref="IsolationIdBase"/> against the machine's accounts (<c>/etc/passwd</c>).
    /// </summary>
    internal sealed class Validator : IValidateOptions<ROptions>
    {
        public ValidateOptionsResult Validate(string? name, ROptions options)
        {
            var problems = new List<string>();
            if (options.Address is not null && options.Addresses.Count > 0)
            {
                problems.Add($"{Section}:Address and {Section}:Addresses are both set (--rserve sets Address); list "
                    + "every Rserve in Addresses and remove Address.");
            }

            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (var index = 0; index < options.RserveAddresses.Count; index++)
            {
                try
                {
                    var (host, port) = Split(options.RserveAddresses[index], options.SettingOf(index));
                    var address = string.Create(CultureInfo.InvariantCulture, $"{host}:{port}");
                    if (!seen.Add(address))
                    {
                        problems.Add($"{Section}:Addresses lists {address} twice; remove one.");
                    }

                    if (options.Start && !(host == "localhost"
                        || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip))))
                    {
                        problems.Add($"{Section}:Start runs Rserve on this machine's loopback, but "
                            + $"{options.SettingOf(index)} is '{options.RserveAddresses[index]}'; "
                            + "write 127.0.0.1:PORT.");
                    }
                }
                catch (FormatException e)
                {
                    problems.Add(e.Message);
                }
            }

            if (options.Start && options.RserveAddresses.Count > 1)
            {
                problems.Add($"{Section}:Start runs one Rserve on this machine, but {Section}:Addresses lists "
                    + $"{options.RserveAddresses.Count}; give one address, or remove Start to use Rserves of your "
                    + "own.");
            }

            if (options.RunAs is { } account && !Environment.IsPrivilegedProcess && account != Environment.UserName)
            {
                problems.Add($"{Section}:RunAs is '{account}', but only a host running as root can run R under "
                    + "another account; remove the setting or start the host as root.");
            }

            if (options.IsolationBase is { } idBase && idBase <= IsolationIdBlock.HighestBase
                && IsolationIdBlock.Conflict(idBase, $"{Section}:IsolationIdBase", "R") is { } conflict)
            {
                problems.Add(conflict);
            }

            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }

    private static (string Host, int Port) Split(string address, string setting)
    {
        var colon = address.LastIndexOf(':');
        return colon < 0
            ? (address.Length > 0 ? address : throw new FormatException($"{setting} is empty; {WriteAddress}"), 6311)
            : (address[..colon],
                int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
                    && port is > 0 and < 65536 && colon > 0
                    ? port
                    : throw new FormatException($"{setting} is '{address}'; {WriteAddress}"));
    }

    // The setting an address of RserveAddresses comes from, as messages name it.
    private string SettingOf(int index) =>
        Addresses.Count > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{Section}:Addresses:{index}")
            : $"{Section}:Address";
}

/// <summary>Checks <see cref="ROptions"/>' data annotations at start, through the options validator source
/// generator (no reflection).</summary>
[OptionsValidator]
internal sealed partial class ROptionsValidator : IValidateOptions<ROptions>;

/// <summary>Allows 0 (no limit) or a whole number from a minimum on: a limit below it would stop R itself.</summary>
/// <param name="minimum">The smallest limit allowed besides 0.</param>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class ZeroOrAtLeastAttribute(int minimum) : ValidationAttribute
{
    /// <inheritdoc/>
    public override bool IsValid(object? value) => value is int limit && (limit == 0 || limit >= minimum);
}
