using System.Reflection;
using System.Reflection.PortableExecutable;
using System.Runtime.Loader;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SsePlugin.Server.Catalog;
using SsePlugin.Server.Invocation;

namespace SsePlugin.Server.Discovery;

/// <summary>
/// Loads the assemblies of a folder and serves their <see cref="SseFunctionAttribute"/> methods, so that an
/// administrator can add functions without rebuilding the host.
/// </summary>
/// <param name="folder">The folder holding the function assemblies and their dependencies.</param>
internal sealed class FolderFunctionSource(string folder) : IFunctionSource
{
    /// <inheritdoc/>
    public IEnumerable<FunctionDefinition> GetFunctions(
        IServiceProvider services, ICollection<SseDiagnostic> diagnostics)
    {
        var path = Path.GetFullPath(folder);
        if (!Directory.Exists(path))
        {
            diagnostics.Add(new SseDiagnostic(
                DiagnosticCodes.UnloadableAssembly,
                path,
                null,
                "The functions folder does not exist.",
                "Create it, or correct the functions folder setting."));
            return [];
        }

        // The folder's own dependencies load from the folder; shared ones (SsePlugin.Abstractions) from the host.
        AssemblyLoadContext.Default.Resolving += (context, name) =>
            Path.Combine(path, name.Name + ".dll") is var dependency && File.Exists(dependency)
                ? context.LoadFromAssemblyPath(dependency)
                : null;

        var logger = services.GetService<ILoggerFactory>()?.CreateLogger<FolderFunctionSource>();
        var types = new List<Type>();
        var files = Directory.GetFiles(path, "*.dll").Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
        {
            logger?.LogWarning(
                "The functions folder {Folder} holds no assemblies (*.dll), so it adds no functions.", path);
        }

        foreach (var file in files)
        {
            if (IsNativeLibrary(file))
            {
                // A native library a function assembly needs may sit beside it.
                if (logger?.IsEnabled(LogLevel.Information) == true)
                {
                    logger.LogInformation(
                        "Functions folder: {File} is not a .NET assembly; left to the assemblies that load it.",
                        Path.GetFileName(file));
                }

                continue;
            }

            try
            {
                var assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(file);
                // Only an assembly built against SsePlugin.Abstractions can declare functions; its dependencies are
                // left alone.
                var abstractions = typeof(SseFunctionAttribute).Assembly.GetName().Name;
                var declaring = assembly.GetReferencedAssemblies().Any(r => r.Name == abstractions)
                    ? assembly.GetTypes().Where(DeclaresFunctions).ToList()
                    : [];
                types.AddRange(declaring);
                if (declaring.Count > 0 && logger?.IsEnabled(LogLevel.Information) == true)
                {
                    logger.LogInformation(
                        "Functions folder: {File} declares functions in {Classes}",
                        Path.GetFileName(file),
                        string.Join(", ", declaring.Select(t => t.Name)));
                }
            }
            catch (Exception e) when (e is BadImageFormatException or FileLoadException or FileNotFoundException
                or ReflectionTypeLoadException or TypeLoadException)
            {
                var cause = (e as ReflectionTypeLoadException)?.LoaderExceptions.FirstOrDefault()?.Message ?? e.Message;
                diagnostics.Add(new SseDiagnostic(
                    DiagnosticCodes.UnloadableAssembly,
                    Path.GetFileName(file),
                    file,
                    $"The assembly could not be loaded: {cause}",
                    e is FileLoadException
                        ? "Keep one file of each assembly in the folder, and none of the host's own (such as "
                            + "SsePlugin.Abstractions.dll) in another version."
                        : "Build it for .NET 10 against the host's SsePlugin.Abstractions, and copy its dependencies "
                            + "into the folder."));
            }
        }

        if (files.Count > 0 && types.Count == 0)
        {
            logger?.LogWarning(
                "No assembly in the functions folder {Folder} declares functions: methods marked [SseFunction].", path);
        }

        return new AttributedFunctionSource(types).GetFunctions(services, diagnostics);
    }

    // A Windows library without .NET metadata, such as a native dependency; a file that is no library at all is
    // left to the loader, which reports it.
    private static bool IsNativeLibrary(string file)
    {
        try
        {
            using var image = new PEReader(File.OpenRead(file));
            return !image.HasMetadata;
        }
        catch (Exception e) when (e is BadImageFormatException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    // Every class and method, public or not, so that a function that is not public is reported rather than left out.
    private static bool DeclaresFunctions(Type type) =>
        type.GetMethods(AttributedFunctionSource.AllMethods).Any(m => m.IsDefined(typeof(SseFunctionAttribute)));
}
