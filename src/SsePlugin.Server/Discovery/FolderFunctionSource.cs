using System.Reflection;
using System.Runtime.Loader;

namespace SsePlugin.Server.Discovery;

/// <summary>
/// Loads the assemblies of a folder and serves the <see cref="SseFunctionAttribute"/> methods of their public
/// classes, so that an administrator can add functions without rebuilding the host.
/// </summary>
/// <param name="folder">The folder holding the function assemblies and their dependencies.</param>
public sealed class FolderFunctionSource(string folder) : IFunctionSource
{
    /// <inheritdoc/>
    public IEnumerable<SseFunction> GetFunctions(IServiceProvider services, ICollection<SseDiagnostic> diagnostics)
    {
        var path = Path.GetFullPath(folder);
        if (!Directory.Exists(path))
        {
            diagnostics.Add(new SseDiagnostic(
                DiagnosticCodes.UnloadableAssembly, path, null, "The functions folder does not exist.", "Create it, or correct the functions folder setting."));
            return [];
        }

        // The folder's own dependencies load from the folder; shared ones (SsePlugin.Abstractions) from the host.
        AssemblyLoadContext.Default.Resolving += (context, name) =>
            File.Exists(Path.Combine(path, name.Name + ".dll")) ? context.LoadFromAssemblyPath(Path.Combine(path, name.Name + ".dll")) : null;

        var types = new List<Type>();
        foreach (var file in Directory.EnumerateFiles(path, "*.dll").Order(StringComparer.Ordinal))
        {
            try
            {
                var assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(file);
                types.AddRange(assembly.GetExportedTypes().Where(DeclaresFunctions));
            }
            catch (Exception e) when (e is BadImageFormatException or FileLoadException or FileNotFoundException or ReflectionTypeLoadException)
            {
                diagnostics.Add(new SseDiagnostic(
                    DiagnosticCodes.UnloadableAssembly,
                    Path.GetFileName(file),
                    file,
                    $"The assembly could not be loaded: {e.Message}",
                    "Build it for .NET 10 against the host's SsePlugin.Abstractions, and copy its dependencies into the folder."));
            }
        }

        return new AttributedFunctionSource(types).GetFunctions(services, diagnostics);
    }

    private static bool DeclaresFunctions(Type type) =>
        type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
            .Any(m => m.IsDefined(typeof(SseFunctionAttribute)));
}
