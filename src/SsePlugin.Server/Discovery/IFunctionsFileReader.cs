using SsePlugin.Server.Catalog;

namespace SsePlugin.Server.Discovery;

/// <summary>
/// Reads an analytic connection's functions file (<see cref="Hosting.SseConnectionOptions.FunctionsFile"/>):
/// functions whose bodies are scripts. Registered with the script engines, which the file's functions run on.
/// </summary>
internal interface IFunctionsFileReader
{
    /// <summary>Opens a functions file as a source of functions.</summary>
    /// <param name="path">The JSON file.</param>
    /// <param name="defaultEngine">The engine of a script that names none: the connection's.</param>
    /// <returns>The file's functions, read when the catalog is built.</returns>
    IFunctionSource Open(string path, string defaultEngine);
}
