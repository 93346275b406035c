using Microsoft.Extensions.DependencyInjection.Extensions;
using SsePlugin.FunctionsFile;
using SsePlugin.Server.Catalog;
using SsePlugin.Server.Discovery;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Lets analytic connections serve the functions of a functions file.</summary>
internal static class SsePluginBuilderFunctionsFileExtensions
{
    /// <summary>
    /// Reads each connection's <c>FunctionsFile</c>: functions an administrator defines in JSON with a script for a
    /// body. The script engines of this repository call it.
    /// </summary>
    /// <param name="builder">The SSE server's builder.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static ISsePluginBuilder AddFunctionsFiles(this ISsePluginBuilder builder)
    {
        builder.Services.TryAddSingleton<IFunctionsFileReader, FunctionsFileReader>();
        return builder;
    }

    private sealed class FunctionsFileReader : IFunctionsFileReader
    {
        public IFunctionSource Open(string path, string defaultEngine) => new FunctionsFileSource(path, defaultEngine);
    }
}
