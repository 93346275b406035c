using System.Globalization;

namespace SsePlugin.Host.Commands;

/// <summary>The exit codes of the host's commands.</summary>
public static class ExitCodes
{
    /// <summary>Everything is in place.</summary>
    public const int Ok = 0;

    /// <summary>A problem was found (or the work could not be done).</summary>
    public const int Problem = 1;

    /// <summary>The command line is wrong; the usage was printed.</summary>
    public const int Usage = 2;
}

/// <summary>The options of one command: <c>--name value</c> pairs and <c>--flag</c>s; anything else is a usage error.</summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    private CommandLine()
    {
    }

    /// <summary>Parses the arguments and runs the command; <c>--help</c> prints the usage, a wrong argument the problem and the usage.</summary>
    public static async Task<int> RunAsync(
        IReadOnlyList<string> args, string usage, string[] options, string[] flags, TextWriter output, Func<CommandLine, Task<int>> run)
    {
        if (args.Any(a => a is "--help" or "-h" or "/?"))
        {
            await output.WriteLineAsync(usage).ConfigureAwait(false);
            return ExitCodes.Ok;
        }

        try
        {
            return await run(Parse(args, options, flags)).ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            await output.WriteLineAsync($"{e.Message}{Environment.NewLine}{Environment.NewLine}{usage}").ConfigureAwait(false);
            return ExitCodes.Usage;
        }
    }

    public bool Has(string flag) => _values.ContainsKey(flag);

    public IReadOnlyList<string> All(string option) => _values.TryGetValue(option, out var values) ? values : [];

    public string? Optional(string option) => All(option) switch
    {
        [] => null,
        [var one] => one,
        _ => throw new UsageException($"{option} is given more than once."),
    };

    public string Required(string option) => Optional(option) ?? throw new UsageException($"{option} is required.");

    public int Number(string option, int fallback, int min, int max)
    {
        var text = Optional(option);
        if (text is null)
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max
            ? number
            : throw new UsageException($"{option} takes a whole number from {min} to {max}, not {text}.");
    }

    private static CommandLine Parse(IReadOnlyList<string> args, string[] options, string[] flags)
    {
        var parsed = new CommandLine();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (flags.Contains(name))
            {
                parsed.Add(name, string.Empty);
            }
            else if (!options.Contains(name))
            {
                throw new UsageException($"Unknown argument: {name}");
            }
            else if (i + 1 == args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                throw new UsageException($"{name} needs a value.");
            }
            else
            {
                parsed.Add(name, args[++i]);
            }
        }

        return parsed;
    }

    private void Add(string name, string value)
    {
        if (!_values.TryGetValue(name, out var values))
        {
            _values[name] = values = [];
        }

        values.Add(value);
    }
}

/// <summary>A wrong command line; its message says what is wrong.</summary>
internal sealed class UsageException(string message) : Exception(message);
