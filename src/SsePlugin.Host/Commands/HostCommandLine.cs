using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using Microsoft.Extensions.Options;
using SsePlugin.Server;

namespace SsePlugin.Host.Commands;

/// <summary>What the command line gives the host.</summary>
/// <param name="Switches">The settings of the switches given, e.g. <c>SsePlugin:Port</c> for <c>--port</c>.</param>
/// <param name="Settings">The <c>--Section:Key value</c> and <c>--Section:Key=value</c> arguments, as given.</param>
internal sealed record HostArguments(IReadOnlyDictionary<string, string?> Switches, IReadOnlyList<string> Settings);

/// <summary>
/// The executable's command line, with generated help (<c>--help</c>, <c>-h</c>, <c>-?</c>) and <c>--version</c>: the
/// host's switches, any setting as <c>--Section:Key value</c>, and the <c>certs</c> and <c>doctor</c> commands.
/// </summary>
public sealed class HostCommandLine
{
    private const string SettingExample = "--SsePlugin:MaxConcurrentCalls 64";

    private const string Description = $"""
        Runs the plugin: Qlik calls it as an analytic connection (default 127.0.0.1:50051, plaintext unless --certs).
        Any setting can also be given as --Section:Key value ({SettingExample},
        --Serilog:MinimumLevel:Default Warning), in appsettings.json next to the executable or in the environment
        (SsePlugin__Port=50052); the README's configuration table lists them all.
        """;

    private static readonly ValueKind WholeNumber = new(
        "a whole number",
        value => int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _));

    // An argument that starts with @ is a value (an Rserve password, say), not a file of arguments to read.
    private static readonly ParserConfiguration Parsing = new() { ResponseFileTokenReplacer = null };

    private static readonly ValueKind TrueOrFalse = new("true or false", value => bool.TryParse(value, out _));

    private readonly Command _root;

    // Each switch and the setting it gives.
    private readonly Dictionary<Option, string> _switches = [];

    // The --Section:Key value settings, hidden from the help (the commands' usage would show them too): the
    // description tells of them.
    private readonly Argument<string[]> _settings = new("settings") { Arity = ArgumentArity.ZeroOrMore, Hidden = true };

    /// <summary>Creates the command line.</summary>
    public HostCommandLine()
    {
        _root = new Command("SsePlugin.Host", Description)
        {
            _settings,
            new HelpOption(),
            new VersionOption { Action = new PrintVersion() },
            CertsCommand.Create(),
            DoctorCommand.Create(),
        };
        _root.SetAction((parsed, _) => SsePluginHost.RunAsync(Arguments(parsed)));
        AddSwitch("--port", "N", "port to listen on (default 50051; 0: any free port)", "SsePlugin:Port", WholeNumber);
        AddSwitch("--bind", "ADDRESS", "address to listen on (default 127.0.0.1; 0.0.0.0: all)", "SsePlugin:Bind");
        AddSwitch("--certs", "DIR", "the plugin's certificate folder: mutual TLS only", "SsePlugin:Certs");
        AddSwitch("--functions-folder", "DIR", "folder of function assemblies to load", "SsePlugin:FunctionsFolder");
        AddSwitch("--functions", "FILE", "JSON file of functions written as scripts", "SsePlugin:FunctionsFile");
        AddSwitch(
            "--allow-script", "true|false", "whether Qlik's scripts run (default true)", "SsePlugin:AllowScript",
            TrueOrFalse);
        AddSwitch(
            "--script-engine", "javascript|r", "the engine of scripts (default javascript)", "SsePlugin:ScriptEngine");
        AddSwitch(
            "--examples", "true|false", "serve the examples (default: unless functions are given)",
            "SsePlugin:Examples", TrueOrFalse);
        AddSwitch("--rserve", "HOST:PORT", "Rserve's address (default 127.0.0.1:6311)", "SsePlugin:Rserve:Address");
        var startRserve = new Option<bool>("--start-rserve")
        {
            Description = "the host runs Rserve itself on loopback",
            Arity = new ArgumentArity(0, ArgumentArity.OneOrMore.MaximumNumberOfValues),
            CustomParser = result => result.Tokens is not [.., var last] || bool.Parse(last.Value),
        };
        _root.Options.Add(startRserve);
        _switches[startRserve] = "SsePlugin:Rserve:Start";
        AddSwitch(
            "--shutdownTimeoutSeconds", "N", "how long a stop waits for running calls (default 30)",
            "shutdownTimeoutSeconds", WholeNumber);
        AddSwitch("--environment", "NAME", "reads appsettings.NAME.json too (default Production)", "environment");
        _settings.Validators.Add(result =>
        {
            foreach (var problem in SettingProblems(result.Tokens))
            {
                result.AddError(problem);
            }
        });
    }

    /// <summary>Runs the command line: prints the help or the version, runs a command or the host.</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="output">Where to print.</param>
    /// <param name="errors">Where to print the mistakes of a wrong command line (default: <paramref name="output"/>).
    /// </param>
    /// <param name="cancellationToken">Stops a command.</param>
    /// <returns>The exit code; <see cref="ExitCodes.Usage"/> for a wrong command line, after its mistakes and the help.
    /// </returns>
    public async Task<int> InvokeAsync(
        IReadOnlyList<string> args,
        TextWriter output,
        TextWriter? errors = null,
        CancellationToken cancellationToken = default)
    {
        var parsed = _root.Parse(args, Parsing);
        var invocation = new InvocationConfiguration
        {
            Output = output,
            Error = errors ?? output,

            // The host stops by itself on Ctrl+C and SIGTERM, after its running calls.
            ProcessTerminationTimeout = null,
            EnableDefaultExceptionHandler = false,
        };
        var exitCode = await parsed.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
        return parsed.Action is ParseErrorAction ? ExitCodes.Usage : exitCode;
    }

    /// <summary>Reads the host's arguments.</summary>
    /// <exception cref="OptionsValidationException">The command line is wrong; its message names each mistake.
    /// </exception>
    internal HostArguments Parse(IReadOnlyList<string> args)
    {
        var parsed = _root.Parse(args, Parsing);
        var mistakes = string.Join(" ", parsed.Errors.Select(e => e.Message));
        return mistakes.Length == 0
            ? Arguments(parsed)
            : throw new OptionsValidationException(SsePluginOptions.Section, typeof(SsePluginOptions), [mistakes]);
    }

    /// <summary>An option that takes a text; another switch in its place is no value.</summary>
    internal static Option<string> TextOption(string name, string helpName, string description)
    {
        var option = new Option<string>(name) { HelpName = helpName, Description = description };
        option.Validators.Add(Check());
        return option;
    }

    /// <summary>An option that takes a whole number from <paramref name="min"/> to <paramref name="max"/>.</summary>
    internal static Option<int> NumberOption(
        string name, string helpName, string description, int fallback, int min, int max) => new(name)
    {
        HelpName = helpName,
        Description = description,
        DefaultValueFactory = _ => fallback,
        CustomParser = result =>
        {
            if (result.Tokens is not [{ Value: var text }])
            {
                return fallback;
            }

            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
                && number >= min && number <= max)
            {
                return number;
            }

            result.AddError($"{name} takes a whole number from {min} to {max}, not {text}.");
            return fallback;
        },
    };

    // The parser takes the argument after an option as its value, even another switch (--certs --port 50052).
    private static Action<OptionResult> Check(ValueKind? kind = null) => result =>
    {
        foreach (var value in result.Tokens.Select(t => t.Value))
        {
            if (value.StartsWith("--", StringComparison.Ordinal))
            {
                result.AddError($"{result.Option.Name} needs a value; {value} is an option.");
            }
            else if (kind is not null && !kind.Accepts(value))
            {
                result.AddError($"{result.Option.Name} takes {kind.Expected}, not {value}.");
            }
        }
    };

    // A switch given more than once counts with its last value, as in ASP.NET Core's command-line configuration. Its
    // value goes to configuration as given: the setting checks its range.
    private void AddSwitch(string name, string helpName, string description, string setting, ValueKind? kind = null)
    {
        var option = new Option<string>(name)
        {
            HelpName = helpName,
            Description = description,
            Arity = ArgumentArity.OneOrMore,
            CustomParser = result => result.Tokens[^1].Value,
        };
        option.Validators.Add(Check(kind));
        _root.Options.Add(option);
        _switches[option] = setting;
    }

    private HostArguments Arguments(ParseResult parsed) => new(
        _switches
            .Select(s => (Setting: s.Value, Given: parsed.GetResult(s.Key)))
            .Where(s => s.Given is { Implicit: false })
            .ToDictionary(
                s => s.Setting,
                s => Convert.ToString(s.Given!.GetValueOrDefault<object>(), CultureInfo.InvariantCulture)),
        parsed.GetValue(_settings) ?? []);

    // Each setting is --Section:Key value or --Section:Key=value, as ASP.NET Core's command-line configuration reads
    // it.
    private IEnumerable<string> SettingProblems(IReadOnlyList<Token> tokens)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i].Value;
            if (!token.StartsWith("--", StringComparison.Ordinal))
            {
                yield return $"'{token}' is neither a command (certs, doctor) nor an option; "
                    + "write options as --name value (see --help).";
                continue;
            }

            var name = token.Split('=')[0];
            var hasValue = name != token;
            if (!hasValue && i + 1 < tokens.Count && !tokens[i + 1].Value.StartsWith("--", StringComparison.Ordinal))
            {
                hasValue = true;
                i++;
            }

            if (!name.Contains(':', StringComparison.Ordinal))
            {
                yield return $"{name}: no such option. The options are "
                    + $"{string.Join(", ", _switches.Keys.Select(o => o.Name))}; "
                    + $"any setting is also --Section:Key value (e.g. {SettingExample}).";
            }
            else if (!hasValue)
            {
                yield return $"{token} needs a value.";
            }
        }
    }

    private sealed record ValueKind(string Expected, Func<string, bool> Accepts);

    private sealed class PrintVersion : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(SsePluginHost.Version);
            return ExitCodes.Ok;
        }
    }
}
