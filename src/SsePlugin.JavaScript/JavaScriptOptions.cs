using Microsoft.Extensions.Options;
using SsePlugin.Server.Hosting;

namespace SsePlugin.JavaScript;

/// <summary>
/// Limits of the embedded JavaScript engine, bound from <c>SsePlugin:JavaScript</c>. Each applies to one call.
/// </summary>
public sealed class JavaScriptOptions
{
    /// <summary>The configuration section these options are read from.</summary>
    public const string Section = $"{SsePluginOptions.Section}:JavaScript";

    /// <summary>Gets or sets the wall time a call's scripts may run, in seconds. Default 30.</summary>
    [SettingRange(
        0d,
        4_294_967d,
        MinimumIsExclusive = true,
        ErrorMessage = "SsePlugin:JavaScript:TimeoutSeconds must be more than 0 and at most 4294967 (49 days).")]
    public double TimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// Gets or sets the memory one evaluation (one row, or one whole-table call) may allocate, in megabytes; what it
    /// frees counts too. Default 1024.
    /// </summary>
    [SettingRange(1, int.MaxValue, ErrorMessage = "SsePlugin:JavaScript:MemoryLimitMegabytes must be 1 or more.")]
    public int MemoryLimitMegabytes { get; set; } = 1024;

    /// <summary>Gets or sets how deep functions may call each other. Default 256.</summary>
    [SettingRange(1, int.MaxValue, ErrorMessage = "SsePlugin:JavaScript:MaxRecursionDepth must be 1 or more.")]
    public int MaxRecursionDepth { get; set; } = 256;

    /// <summary>
    /// Gets or sets how many statements one evaluation (one row, or one whole-table call) may run. Default 100 million.
    /// </summary>
    [SettingRange(1, int.MaxValue, ErrorMessage = "SsePlugin:JavaScript:MaxStatements must be 1 or more.")]
    public int MaxStatements { get; set; } = 100_000_000;

    /// <summary>
    /// Gets or sets how many distinct scripts are kept parsed, and compiled scripts per call shape (each counts once).
    /// Default 256.
    /// </summary>
    [SettingRange(1, int.MaxValue, ErrorMessage = "SsePlugin:JavaScript:ScriptCacheSize must be 1 or more.")]
    public int ScriptCacheSize { get; set; } = 256;
}

/// <summary>Checks <see cref="JavaScriptOptions"/>' data annotations at start, through the options validator source
/// generator (no reflection).</summary>
[OptionsValidator]
internal sealed partial class JavaScriptOptionsValidator : IValidateOptions<JavaScriptOptions>;
