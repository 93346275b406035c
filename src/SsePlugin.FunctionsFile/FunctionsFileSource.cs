using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using SsePlugin.Server.Catalog;
using SsePlugin.Server.Discovery;
using SsePlugin.Server.Invocation;
using SsePlugin.Server.Scripting;

namespace SsePlugin.FunctionsFile;

/// <summary>
/// Functions an administrator defines in a JSON file, each with a script for its body, so that fixed functions can
/// be offered while scripts from Qlik are switched off. Reads the R plugin's <c>FuncDefs.json</c> unchanged
/// (<c>FunctionRScript</c> runs in R) and a generic <c>Script</c> with an optional <c>Engine</c>
/// (by default the connection's script engine). Read with Json.NET, as the R plugin reads it, so that what it
/// accepts (line breaks inside a script's string, comments, trailing commas) is accepted here too.
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
internal sealed class FunctionsFileSource(string path, string defaultEngine) : IFunctionSource
{
    // The keys of the R plugin's FuncDefs.json, then this host's Script and Engine.
    private static readonly string[] Keys =
    [
        "Id", "Name", "FunctionType", "ReturnType", "Params", "CacheResultInQlik", "FunctionRScript",
        "Script", "Engine",
    ];

    public IEnumerable<FunctionDefinition> GetFunctions(
        IServiceProvider services, ICollection<SseDiagnostic> diagnostics)
    {
        var file = Path.GetFileName(path);
        void Report(string member, string location, string problem, string fix) =>
            diagnostics.Add(new SseDiagnostic(DiagnosticCodes.InvalidFunctionsFile, member, location, problem, fix));

        JToken document;
        try
        {
            // Dates stay strings: a script or a name is never a date.
            using var reader = new JsonTextReader(new StringReader(File.ReadAllText(path)))
            {
                DateParseHandling = DateParseHandling.None,
            };
            var settings = new JsonLoadSettings
            {
                CommentHandling = CommentHandling.Ignore,
                DuplicatePropertyNameHandling = DuplicatePropertyNameHandling.Error,
            };
            document = JToken.ReadFrom(reader, settings);
            // Only comments may follow the object: reading on throws at anything else.
            while (reader.Read())
            {
            }
        }
        catch (UnauthorizedAccessException)
        {
            Report(
                file,
                path,
                $"The host cannot read {Path.GetFullPath(path)}: permission denied.",
                $"Give the account the host runs as ({Environment.UserName}) read access to it.");
            return [];
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            Report(
                file,
                path,
                $"The functions file could not be read: {e.Message}",
                "Check the path and that the file is valid JSON.");
            return [];
        }

        if (Property(document, "Functions") is not JArray list)
        {
            Report(file, path, "The file has no \"Functions\" array.", "Write { \"Functions\": [ ... ] }.");
            return [];
        }

        var engines = services.GetServices<IScriptEngine>().ToDictionary(e => e.Name, StringComparer.OrdinalIgnoreCase);
        var functions = new List<FunctionDefinition>();
        var index = 0;
        foreach (var entry in list)
        {
            var member = $"{file}: Functions[{index++}]";
            var location = $"{path}:{((IJsonLineInfo)entry).LineNumber}";
            if (Property(entry, "Name") is { Type: JTokenType.String } name)
            {
                member += $" ({name})";
            }

            var problems = new List<string>();
            if (Read(entry, engines, defaultEngine, member, location, problems) is { } function)
            {
                functions.Add(function);
            }

            foreach (var problem in problems)
            {
                Report(member, location, problem, "Fix the definition; see docs/functions.md#the-functions-file.");
            }
        }

        return functions;
    }

    /// <summary>Reads one function, or adds every mistake in its definition to <paramref name="problems"/>.</summary>
    private static FunctionDefinition? Read(
        JToken entry,
        Dictionary<string, IScriptEngine> engines,
        string defaultEngine,
        string member,
        string location,
        List<string> problems)
    {
        T? Field<T>(Func<T> read)
        {
            try
            {
                return read();
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException or KeyNotFoundException)
            {
                problems.Add(e.Message);
                return default;
            }
        }

        if (entry is not JObject definition)
        {
            problems.Add($"The definition is {entry.ToString(Formatting.None)}, not an object.");
            return null;
        }

        var unknownKeys = definition.Properties()
            .Where(key => !Keys.Contains(key.Name, StringComparer.OrdinalIgnoreCase));
        foreach (var key in unknownKeys)
        {
            problems.Add($"\"{key.Name}\" is not a key of a function; the keys are {string.Join(", ", Keys)}.");
        }

        var name = Field(() => Text(Required(entry, "Name"), "Name"));
        if (name is not null && !AttributedFunctionSource.IsValidName(name))
        {
            problems.Add(
                $"The function name '{name}' holds characters Qlik does not accept; use letters, digits and "
                + "underscores.");
        }

        var id = Field(() => Required(entry, "Id") is var value && Int32(value) is { } number
            ? number
            : throw new FormatException(
                $"Id is {value.ToString(Formatting.None)}, which is not a whole number from {int.MinValue} to "
                + $"{int.MaxValue}."));
        var functionType = Field(() => Enumerated<SseFunctionType>(Required(entry, "FunctionType"), "FunctionType"));
        var returnType = Field(() => Enumerated<SseDataType>(Required(entry, "ReturnType"), "ReturnType"));
        var parameters = new List<ParameterDefinition>();
        if (Property(entry, "Params") is JObject declared)
        {
            foreach (var parameter in declared.Properties())
            {
                var dataType = Field(() => Enumerated<SseDataType>(parameter.Value, $"Params.{parameter.Name}"));
                parameters.Add(new ParameterDefinition(parameter.Name, dataType));
            }
        }

        var (script, engineName) = Field(() => Property(entry, "FunctionRScript") is { } rScript
            ? (Text(rScript, "FunctionRScript"), "r")
            : (Text(Required(entry, "Script"), "Script"),
                Property(entry, "Engine") is { } engineToken ? Text(engineToken, "Engine") : defaultEngine));
        if (engineName is not null && !engines.ContainsKey(engineName))
        {
            problems.Add(
                $"The function needs the '{engineName}' script engine, which this host does not run "
                + $"(it runs: {string.Join(", ", engines.Keys)}).");
        }

        if (problems.Count > 0)
        {
            return null;
        }

        FunctionInvoker invoker;
        try
        {
            invoker = engines[engineName!].Compile(new ScriptDefinition(script!, functionType, returnType, parameters));
        }
        catch (Exception e) when (e is ArgumentException or CallFailure)
        {
            problems.Add(e.Message);
            return null;
        }

        var cache = Property(entry, "CacheResultInQlik") is not { } flag
            || (flag.Type == JTokenType.Boolean && flag.Value<bool>())
            || (flag.Type == JTokenType.String && bool.TryParse(flag.Value<string>(), out var parsed) && parsed);
        return new FunctionDefinition(
            id, name!, functionType, returnType, parameters, noCache: !cache, member, invoker, location);
    }

    private static JToken? Property(JToken element, string name) =>
        element is JObject entry
        && entry.GetValue(name, StringComparison.OrdinalIgnoreCase) is { Type: not JTokenType.Null } value
            ? value
            : null;

    private static JToken Required(JToken element, string name) =>
        Property(element, name) ?? throw new KeyNotFoundException($"The definition has no \"{name}\".");

    // Json.NET keeps whole numbers as long, or as BigInteger when they are larger.
    private static int? Int32(JToken value) =>
        value is JValue { Value: long number } && number is >= int.MinValue and <= int.MaxValue ? (int)number : null;

    private static string Text(JToken value, string what) =>
        value.Type == JTokenType.String
            ? value.Value<string>()!
            : throw new FormatException($"{what} is {value.ToString(Formatting.None)}, which is not a string.");

    private static T Enumerated<T>(JToken value, string what)
        where T : struct, Enum
    {
        if (Int32(value) is { } number && Enum.IsDefined((T)(object)number))
        {
            return (T)(object)number;
        }

        if (value.Type == JTokenType.String
            && Enum.TryParse<T>(value.Value<string>(), ignoreCase: true, out var named)
            && Enum.IsDefined(named))
        {
            return named;
        }

        var values = Enum.GetValues<T>().Select(v => $"{Convert.ToInt32(v, CultureInfo.InvariantCulture)} ({v})");
        throw new FormatException(
            $"{what} is {value.ToString(Formatting.None)}, which is not one of {string.Join(", ", values)}.");
    }
}
