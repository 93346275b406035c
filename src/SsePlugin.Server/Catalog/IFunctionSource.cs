using SsePlugin.Server.Invocation;

namespace SsePlugin.Server.Catalog;

/// <summary>
/// Supplies functions to the catalog: the seam between how functions are declared and how they are served.
/// </summary>
internal interface IFunctionSource
{
    /// <summary>
    /// Returns the functions, reporting every mistake to <paramref name="diagnostics"/> instead of throwing.
    /// </summary>
    /// <param name="services">The host's services, for creating function classes.</param>
    /// <param name="diagnostics">Where mistakes are reported.</param>
    /// <returns>The valid functions.</returns>
    IEnumerable<FunctionDefinition> GetFunctions(IServiceProvider services, ICollection<SseDiagnostic> diagnostics);
}
