using SsePlugin.Server.Catalog;
using SsePlugin.Server.Scripting;

namespace SsePlugin.Server.Hosting;

/// <summary>
/// One analytic connection as Qlik sees it: a port, its functions and the engine that runs its scripts.
/// </summary>
public sealed class AnalyticConnection
{
    internal AnalyticConnection(
        string name, SseConnectionOptions options, FunctionCatalog catalog, IScriptEngine? engine)
    {
        Name = name;
        Options = options;
        Catalog = catalog;
        Scripts = engine is null ? null : new ScriptFunctions(engine);
    }

    /// <summary>
    /// Gets the connection's name: <c>main</c>, or its key under <see cref="SsePluginOptions.Connections"/>.
    /// </summary>
    public string Name { get; }

    /// <summary>Gets the connection's settings.</summary>
    public SseConnectionOptions Options { get; }

    /// <summary>Gets the functions served on this connection.</summary>
    public FunctionCatalog Catalog { get; }

    /// <summary>
    /// Gets the name of the engine that runs this connection's scripts; none when no engine is registered.
    /// </summary>
    public string? ScriptEngine => Scripts?.Engine.Name;

    /// <summary>Gets whether Qlik may send this connection scripts: allowed, and an engine runs them.</summary>
    public bool AllowsScripts => Options.AllowScript && Scripts is not null;

    /// <summary>Gets the engine whose health this connection depends on: the one running its scripts, Qlik's or its
    /// functions file's; none when it runs no scripts.</summary>
    internal string? EngineInUse =>
        ScriptEngine is { } engine && (Options.AllowScript || !string.IsNullOrWhiteSpace(Options.FunctionsFile))
            ? engine
            : null;


    /// <summary>Gets what runs Qlik's script functions here; none when the host has no script engine.</summary>
    internal ScriptFunctions? Scripts { get; }
}
