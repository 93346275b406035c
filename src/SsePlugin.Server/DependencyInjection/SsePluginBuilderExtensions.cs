using System.Reflection;
using SsePlugin.Server.Catalog;
using SsePlugin.Server.Discovery;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Names the functions an SSE server serves.</summary>
public static class SsePluginBuilderExtensions
{
    /// <summary>Serves the <see cref="SsePlugin.SseFunctionAttribute"/> methods of <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">A function class.</typeparam>
    /// <param name="builder">The SSE server's builder.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static ISsePluginBuilder AddFunctions<T>(this ISsePluginBuilder builder) =>
        builder.AddFunctions(typeof(T));

    /// <summary>Serves the <see cref="SsePlugin.SseFunctionAttribute"/> methods of the given classes.</summary>
    /// <param name="builder">The SSE server's builder.</param>
    /// <param name="types">Function classes.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static ISsePluginBuilder AddFunctions(this ISsePluginBuilder builder, params Type[] types)
    {
        builder.Services.AddSingleton<IFunctionSource>(new AttributedFunctionSource(types, named: true));
        return builder;
    }

    /// <summary>
    /// Serves the <see cref="SsePlugin.SseFunctionAttribute"/> methods of every public class of an assembly.
    /// </summary>
    /// <param name="builder">The SSE server's builder.</param>
    /// <param name="assembly">The assembly to search.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static ISsePluginBuilder AddFunctionsFrom(this ISsePluginBuilder builder, Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        builder.Services.AddSingleton<IFunctionSource>(new AttributedFunctionSource(assembly.GetExportedTypes()));
        return builder;
    }

    /// <summary>
    /// Serves the <see cref="SsePlugin.SseFunctionAttribute"/> methods of the assemblies in a folder, loaded at
    /// start-up, so
    /// that an administrator can add functions without rebuilding the host.
    /// </summary>
    /// <param name="builder">The SSE server's builder.</param>
    /// <param name="folder">The folder holding the function assemblies and their dependencies.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static ISsePluginBuilder AddFunctionsFromFolder(this ISsePluginBuilder builder, string folder)
    {
        builder.Services.AddSingleton<IFunctionSource>(new FolderFunctionSource(folder));
        return builder;
    }
}
