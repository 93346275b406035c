using Qlik.Sse;
using SsePlugin.Server.Grpc;
using SsePlugin.Server.Scripting;

namespace SsePlugin.Server.Connections;

/// <summary>One analytic connection as Qlik sees it: a port, its functions and the engine that runs its scripts.</summary>
public sealed class AnalyticConnection
{
    internal AnalyticConnection(string name, SseConnectionOptions options, FunctionCatalog catalog, IScriptEngine engine)
    {
        Name = name;
        Options = options;
        Catalog = catalog;
        Scripts = new ScriptFunctions(engine);
        Capabilities = CapabilitiesBuilder.Build(catalog, options);
    }

    /// <summary>Gets the connection's name: <c>main</c>, or its key under <see cref="SsePluginOptions.Connections"/>.</summary>
    public string Name { get; }

    /// <summary>Gets the connection's settings.</summary>
    public SseConnectionOptions Options { get; }

    /// <summary>Gets the functions served on this connection.</summary>
    public FunctionCatalog Catalog { get; }

    /// <summary>Gets the name of the engine that runs this connection's scripts.</summary>
    public string ScriptEngine => Scripts.Engine.Name;

    internal ScriptFunctions Scripts { get; }

    internal Capabilities Capabilities { get; }
}
