using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Protocol;

namespace SsePlugin.Server.Catalog;

/// <summary>The functions the host serves, checked and frozen at start-up, keyed by function id.</summary>
public sealed class FunctionCatalog
{
    private readonly FrozenDictionary<int, FunctionDefinition> _byId;

    private FunctionCatalog(IReadOnlyList<FunctionDefinition> functions)
    {
        Functions = functions;
        _byId = functions.ToFrozenDictionary(f => f.Id);
    }

    /// <summary>Gets every function, ordered by id.</summary>
    public IReadOnlyList<FunctionDefinition> Functions { get; }

    /// <summary>Finds a function by the id Qlik calls it by.</summary>
    /// <param name="id">The function id.</param>
    /// <param name="function">The function, when found.</param>
    /// <returns>Whether the id is known.</returns>
    public bool TryGet(int id, [NotNullWhen(true)] out FunctionDefinition? function) =>
        _byId.TryGetValue(id, out function);

    /// <summary>Builds the catalog from its sources, or throws with every mistake found.</summary>
    /// <param name="sources">Where the functions come from.</param>
    /// <param name="services">The host's services, for creating function classes.</param>
    /// <exception cref="SseConfigurationException">Any declaration is wrong.</exception>
    internal static FunctionCatalog Create(IEnumerable<IFunctionSource> sources, IServiceProvider services)
    {
        var diagnostics = new List<SseDiagnostic>();
        var catalog = Create(sources.SelectMany(s => s.GetFunctions(services, diagnostics)).ToList(), diagnostics);
        return catalog is not null && diagnostics.Count == 0
            ? catalog
            : throw new SseConfigurationException(diagnostics);
    }

    /// <summary>
    /// Builds the catalog of the given functions, or returns <see langword="null"/> after reporting clashing ids or
    /// names.
    /// </summary>
    internal static FunctionCatalog? Create(
        IReadOnlyList<FunctionDefinition> functions, List<SseDiagnostic> diagnostics)
    {
        var found = diagnostics.Count;
        ReportClashes(
            functions,
            f => f.Id.ToString(CultureInfo.InvariantCulture),
            DiagnosticCodes.DuplicateId,
            "id",
            "Give each function its own id; keep the ids Qlik already knows unchanged.",
            diagnostics);
        ReportClashes(
            functions,
            f => f.Name,
            DiagnosticCodes.DuplicateName,
            "name",
            "Rename one of them (SseFunction's Name property).",
            diagnostics);
        foreach (var function in functions.Where(f => QlikProtocol.ScriptFunctionNames.Contains(f.Name)))
        {
            diagnostics.Add(new SseDiagnostic(
                DiagnosticCodes.InvalidName,
                function.Source,
                function.Location,
                $"The name '{function.Name}' is one of Qlik's script functions, which Qlik sends as scripts "
                + "(EvaluateScript), never to this function.",
                "Give the function another name."));
        }

        return diagnostics.Count == found ? new FunctionCatalog(functions.OrderBy(f => f.Id).ToList()) : null;
    }

    private static void ReportClashes(
        IReadOnlyList<FunctionDefinition> functions,
        Func<FunctionDefinition, string> key,
        string code,
        string what,
        string fix,
        List<SseDiagnostic> diagnostics)
    {
        foreach (var clash in functions.GroupBy(key, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            var first = clash.First();
            var users = clash.Select(f => f.Location is null ? f.Source : $"{f.Source} ({f.Location})");
            diagnostics.Add(new SseDiagnostic(
                code,
                first.Source,
                first.Location,
                $"The function {what} '{clash.Key}' is used by {string.Join(" and ", users)}.",
                fix));
        }
    }
}
