using System.Reflection;
using SsePlugin.Host;

namespace SsePlugin.FunctionalTests;

/// <summary>What the assemblies show: the executable nothing, and no assembly Qlik's generated protocol types, which
/// each assembly that needs them keeps internal (the doctor has its own client).</summary>
public sealed class PublicSurfaceTests
{
    [Fact]
    public void The_executable_exports_no_types() =>
        Assert.Empty(typeof(SsePluginHost).Assembly.GetExportedTypes().Select(t => t.FullName));

    [Fact]
    public void No_SsePlugin_assembly_exports_the_generated_Qlik_Sse_types()
    {
        var assemblies = Directory.GetFiles(AppContext.BaseDirectory, "SsePlugin.*.dll")
            .Select(path => Assembly.Load(AssemblyName.GetAssemblyName(path)))
            .ToList();

        Assert.Contains(assemblies, a => a.GetName().Name == "SsePlugin.Server");
        Assert.Empty(assemblies
            .SelectMany(a => a.GetExportedTypes())
            .Where(t => t.Namespace == "Qlik.Sse")
            .Select(t => $"{t.FullName} in {t.Assembly.GetName().Name}"));
    }
}
