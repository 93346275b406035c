using System.Reflection;
using Qlik.Sse;
using SsePlugin.Server.Hosting;

namespace SsePlugin.Server.Transport;

/// <summary>Builds the <c>GetCapabilities</c> answer from the catalog.</summary>
internal static class CapabilitiesBuilder
{
    /// <summary>The version Qlik is told: the one the server was built with (<c>1.2.3</c>, or <c>1.2.4-dev.7</c> from
    /// build/publish.sh), as the host's banner shows it, without the commit's hash.</summary>
    private static readonly string Version = typeof(CapabilitiesBuilder).Assembly
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static Capabilities Build(AnalyticConnection connection)
    {
        var options = connection.Options;
        var capabilities = new Capabilities
        {
            AllowScript = connection.AllowsScripts,
            PluginIdentifier = options.PluginIdentifier,
            PluginVersion = Version,
        };
        foreach (var function in connection.Catalog.Functions)
        {
            var definition = new Qlik.Sse.FunctionDefinition
            {
                FunctionId = function.Id,
                Name = function.Name,
                FunctionType = (FunctionType)function.FunctionType,
                ReturnType = (DataType)function.ReturnType,
            };
            foreach (var parameter in function.Parameters)
            {
                definition.Params.Add(new Parameter { Name = parameter.Name, DataType = (DataType)parameter.DataType });
            }

            capabilities.Functions.Add(definition);
        }

        return capabilities;
    }
}
