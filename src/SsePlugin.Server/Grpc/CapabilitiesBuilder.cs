using Qlik.Sse;

namespace SsePlugin.Server.Grpc;

/// <summary>Builds the <c>GetCapabilities</c> answer from the catalog.</summary>
internal static class CapabilitiesBuilder
{
    public static Capabilities Build(FunctionCatalog catalog, SseConnectionOptions options)
    {
        var capabilities = new Capabilities
        {
            AllowScript = options.AllowScript,
            PluginIdentifier = options.PluginIdentifier,
            PluginVersion = typeof(CapabilitiesBuilder).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
        };
        foreach (var function in catalog.Functions)
        {
            var definition = new FunctionDefinition
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
