using Microsoft.Extensions.Options;
using SsePlugin.Rserve;
using SsePlugin.Server.Hosting;

namespace SsePlugin.Python;

/// <summary>How the host runs Python, bound from <c>SsePlugin:Python</c>.</summary>
public sealed class PythonOptions
{
    /// <summary>The configuration section these options are read from.</summary>
    public const string Section = $"{SsePluginOptions.Section}:Python";

    /// <summary>
    /// Gets or sets the Python 3 program: a name found on the path, or a full path. Default <c>python3</c>
    /// (<c>python</c> on Windows).
    /// </summary>
    public string Executable { get; set; } = OperatingSystem.IsWindows() ? "python" : "python3";

    /// <summary>Gets or sets how many Python calls run at once. Default 0: one per processor.</summary>
    [SettingRange(0, int.MaxValue, ErrorMessage = $"{Section}:PoolSize must be 0 (one call per processor) or more.")]
    public int PoolSize { get; set; }

    /// <summary>
    /// Gets or sets the time a call's Python process may run before it is ended, in seconds; a call may wait as long
    /// again for its turn. Default 300.
    /// </summary>
    [SettingRange(
        0d,
        4_294_967d,
        MinimumIsExclusive = true,
        ErrorMessage = $"{Section}:TimeoutSeconds must be more than 0 and at most 4294967 (49 days).")]
    public double TimeoutSeconds { get; set; } = 300;

    /// <summary>
    /// Gets or sets the memory (address space) each call's Python process may use, in megabytes; 0 for no limit
    /// (Linux, macOS). Default 4096.
    /// </summary>
    [SettingRange(0, int.MaxValue, ErrorMessage = $"{Section}:MemoryLimitMegabytes must be 0 (no limit) or more.")]
    public int MemoryLimitMegabytes { get; set; } = 4096;

    /// <summary>
    /// Gets or sets how many megabytes of files a call may leave in its temporary folders (/tmp, /var/tmp, /dev/shm and
    /// every other folder all accounts may write to), all together, when calls are isolated: they are held in memory
    /// beside <see cref="MemoryLimitMegabytes"/>. Default 64.
    /// </summary>
    [SettingRange(1, 1_048_576, ErrorMessage = $"{Section}:TempLimitMegabytes must be from 1 to 1048576 (1 TB).")]
    public int TempLimitMegabytes { get; set; } = 64;

    /// <summary>
    /// Gets or sets how many processes a call may have at once (its user id's, when calls are isolated; else those of
    /// Python's account, all calls together), counted when a script starts one; 0 for no limit (Linux, macOS).
    /// Default 512.
    /// </summary>
    [SettingRange(0, int.MaxValue, ErrorMessage = $"{Section}:ProcessLimit must be 0 (no limit) or more.")]
    public int ProcessLimit { get; set; } = 512;

    /// <summary>
    /// Gets or sets the operating-system account Python runs under when the host runs as root (Linux) and cannot
    /// isolate calls (see <see cref="IsolationIdBase"/>). Default <c>nobody</c>; <c>root</c> runs scripts as root,
    /// not isolated.
    /// </summary>
    public string? RunAs { get; set; }

    /// <summary>
    /// Gets or sets the first of the user and group ids Python calls run under when the host runs as root (Linux):
    /// the worker in a user namespace of its own, each call's process under an id of its own with its own /tmp. A host
    /// takes the first of 16 blocks of 65536 ids from here that no other host, nor its R engine, holds. Default
    /// 2000000000, as R's; 0: not isolated, Python runs as <see cref="RunAs"/>.
    /// </summary>
    [SettingRange(
        0d,
        IsolationIdBlock.HighestBase,
        ErrorMessage = $"{Section}:IsolationIdBase must be 0 (Python calls not isolated) or at most {{2}}.")]
    public uint IsolationIdBase { get; set; } = 2_000_000_000;

    /// <summary>Gets the number of calls that run at once.</summary>
    internal int Workers => PoolSize > 0 ? PoolSize : Environment.ProcessorCount;

    /// <summary>
    /// Gets the first id of the blocks Python calls may run under, when the host runs as root on Linux and neither
    /// <see cref="RunAs"/> (<c>root</c>) nor <see cref="IsolationIdBase"/> (0) opts out; else null.
    /// </summary>
    internal uint? IsolationBase =>
        OperatingSystem.IsLinux() && Environment.IsPrivilegedProcess && IsolationIdBase > 0 && RunAs != "root"
            ? IsolationIdBase
            : null;

    /// <summary>Gets the account Python runs under when calls are not isolated; null for the host's own.</summary>
    internal string? Account =>
        OperatingSystem.IsLinux() && Environment.IsPrivilegedProcess
            ? RunAs is null or "nobody" ? "nobody" : RunAs == "root" ? null : RunAs
            : null;

    /// <summary>
    /// Checks at start what no data annotation can say: limits too small for Python itself, and <see cref="RunAs"/>
    /// on a host that cannot switch accounts.
    /// </summary>
    internal sealed class Validator : IValidateOptions<PythonOptions>
    {
        // Below these Python cannot import numpy and pandas, or start at all.
        private const int LeastMemoryMegabytes = 256;
        private const int LeastProcesses = 16;

        public ValidateOptionsResult Validate(string? name, PythonOptions options)
        {
            var problems = new List<string>();
            if (options.MemoryLimitMegabytes is > 0 and < LeastMemoryMegabytes)
            {
                problems.Add($"{Section}:MemoryLimitMegabytes must be 0 (no limit) or at least "
                    + $"{LeastMemoryMegabytes}: Python with numpy and pandas needs that much to start.");
            }

            if (options.ProcessLimit is > 0 and < LeastProcesses)
            {
                problems.Add($"{Section}:ProcessLimit must be 0 (no limit) or at least {LeastProcesses}: the limit "
                    + "counts every process of a call, or of Python's account where calls are not isolated.");
            }

            if (string.IsNullOrWhiteSpace(options.Executable))
            {
                problems.Add($"{Section}:Executable is empty; write python3, or the full path of a Python 3 program.");
            }

            if (options.RunAs is { } account && !(OperatingSystem.IsLinux() && Environment.IsPrivilegedProcess)
                && account != Environment.UserName)
            {
                problems.Add($"{Section}:RunAs is '{account}', but only a host running as root on Linux can run "
                    + "Python under another account; remove the setting or start the host as root.");
            }

            if (options.IsolationBase is { } idBase && idBase <= IsolationIdBlock.HighestBase
                && IsolationIdBlock.Conflict(idBase, $"{Section}:IsolationIdBase", "Python") is { } conflict)
            {
                problems.Add(conflict);
            }

            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}

/// <summary>Checks <see cref="PythonOptions"/>' data annotations at start, through the options validator source
/// generator (no reflection).</summary>
[OptionsValidator]
internal sealed partial class PythonOptionsValidator : IValidateOptions<PythonOptions>;
