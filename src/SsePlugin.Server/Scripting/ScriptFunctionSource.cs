using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SsePlugin.Server.Discovery;
using SsePlugin.Server.Invocation;

namespace SsePlugin.Server.Scripting;

/// <summary>
/// Functions an administrator defines in a JSON file, each with a script for its body, so that fixed functions can
/// be offered while scripts from Qlik are switched off. Reads the R plugin's <c>FuncDefs.json</c> unchanged
/// (<c>FunctionRScript</c> runs in R) and a generic <c>Script</c> with an optional <c>Engine</c>
/// (by default the connection's script engine).
/// </summary>
/// <example>
/// <code>
/// { "Functions": [ { "Id": 200, "Name": "Margin", "FunctionType": 2, "ReturnType": 1,
///                    "Params": { "sales": 1, "cost": 1 }, "Script": "(args[0] - args[1]) / args[0]",
///                    "CacheResultInQlik": true } ] }
/// </code>
/// </example>
/// <param name="path">The JSON file.</param>
/// <param name="defaultEngine">The engine of a <c>Script</c> that names none.</param>
internal sealed class ScriptFunctionSource(string path, string defaultEngine) : IFunctionSource
{
    public IEnumerable<SseFunction> GetFunctions(IServiceProvider services, ICollection<SseDiagnostic> diagnostics)
    {
        var file = Path.GetFileName(path);
        void Report(string member, string problem, string fix) =>
            diagnostics.Add(new SseDiagnostic(DiagnosticCodes.InvalidFunctionsFile, member, path, problem, fix));

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            Report(file, $"The functions file could not be read: {e.Message}", "Check the path and that the file is valid JSON.");
            return [];
        }

        using (document)
        {
            if (Property(document.RootElement, "Functions") is not { ValueKind: JsonValueKind.Array } list)
            {
                Report(file, "The file has no \"Functions\" array.", "Write { \"Functions\": [ ... ] }.");
                return [];
            }

            var engines = services.GetServices<IScriptEngine>().ToDictionary(e => e.Name, StringComparer.OrdinalIgnoreCase);
            var functions = new List<SseFunction>();
            var index = 0;
            foreach (var entry in list.EnumerateArray())
            {
                var member = $"{file}: Functions[{index++}]";
                try
                {
                    functions.Add(Read(entry, engines, defaultEngine, ref member));
                }
                catch (Exception e) when (e is FormatException or InvalidOperationException or KeyNotFoundException or SseCallException)
                {
                    Report(member, e.Message, "Fix the definition; see the README's functions file section.");
                }
            }

            return functions;
        }
    }

    private static SseFunction Read(JsonElement entry, Dictionary<string, IScriptEngine> engines, string defaultEngine, ref string member)
    {
        var name = Required(entry, "Name").GetString() ?? string.Empty;
        member += $" ({name})";
        if (!AttributedFunctionSource.IsValidName(name))
        {
            throw new FormatException($"The function name '{name}' holds characters Qlik does not accept; use letters, digits and underscores.");
        }

        var id = Required(entry, "Id").GetInt32();
        var functionType = Enumerated<SseFunctionType>(Required(entry, "FunctionType"), "FunctionType");
        var returnType = Enumerated<SseDataType>(Required(entry, "ReturnType"), "ReturnType");
        var parameters = new List<SseParameter>();
        if (Property(entry, "Params") is { ValueKind: JsonValueKind.Object } declared)
        {
            foreach (var parameter in declared.EnumerateObject())
            {
                parameters.Add(new SseParameter(parameter.Name, Enumerated<SseDataType>(parameter.Value, $"Params.{parameter.Name}")));
            }
        }

        var (script, engineName) = Property(entry, "FunctionRScript") is { } rScript
            ? (rScript.GetString(), "r")
            : (Required(entry, "Script").GetString(), Property(entry, "Engine")?.GetString() ?? defaultEngine);
        if (!engines.TryGetValue(engineName, out var engine))
        {
            throw new InvalidOperationException(
                $"The function needs the '{engineName}' script engine, which this host does not run (it runs: {string.Join(", ", engines.Keys)}).");
        }

        var definition = new ScriptDefinition(script ?? string.Empty, functionType, returnType, parameters);
        var cache = Property(entry, "CacheResultInQlik") is not { } flag
            || flag.ValueKind == JsonValueKind.True
            || (flag.ValueKind == JsonValueKind.String && bool.TryParse(flag.GetString(), out var parsed) && parsed);
        return new SseFunction(id, name, functionType, returnType, parameters, noCache: !cache, member, engine.Compile(definition));
    }

    private static JsonElement? Property(JsonElement element, string name)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value;
            }
        }

        return null;
    }

    private static JsonElement Required(JsonElement element, string name) =>
        Property(element, name) ?? throw new KeyNotFoundException($"The definition has no \"{name}\".");

    private static T Enumerated<T>(JsonElement value, string what)
        where T : struct, Enum
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) && Enum.IsDefined((T)(object)number))
        {
            return (T)(object)number;
        }

        if (value.ValueKind == JsonValueKind.String && Enum.TryParse<T>(value.GetString(), ignoreCase: true, out var named) && Enum.IsDefined(named))
        {
            return named;
        }

        throw new FormatException($"{what} is {value}, which is not one of {string.Join(", ", Enum.GetValues<T>().Select(v => $"{Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture)} ({v})"))}.");
    }
}
