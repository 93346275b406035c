using Qlik.Sse;
using SsePlugin.Server.Hosting;

namespace SsePlugin.Server.Transport;

/// <summary>Builds the <c>GetCapabilities</c> answer from the catalog.</summary>
internal static class CapabilitiesBuilder
{
    public static Capabilities Build(AnalyticConnection connection)
    {
        var options = connection.Options;
        var capabilities = new Capabilities
        {
            AllowScript = connection.AllowsScripts,
            PluginIdentifier = options.PluginIdentifier,
            PluginVersion = typeof(CapabilitiesBuilder).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
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
