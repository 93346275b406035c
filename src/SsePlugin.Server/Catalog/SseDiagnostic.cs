namespace SsePlugin.Server.Catalog;

/// <summary>A mistake in a function declaration, found at start-up.</summary>
/// <param name="Code">A stable code, e.g. <c>SSE1001</c>; see <see cref="DiagnosticCodes"/>.</param>
/// <param name="Member">The <c>Type.Method</c> at fault.</param>
/// <param name="Location">Where it is written, e.g. <c>MyFunctions.cs:42</c>, when known.</param>
/// <param name="Problem">What is wrong.</param>
/// <param name="Fix">How to fix it.</param>
public sealed record SseDiagnostic(string Code, string Member, string? Location, string Problem, string Fix)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"{Code} {Member}{(Location is null ? string.Empty : $" ({Location})")}: {Sentence(Problem)} Fix: {Fix}";

    // A problem may end in a message the function's own code threw, without a full stop or with a line break.
    private static string Sentence(string text)
    {
        text = text.TrimEnd();
        return text.EndsWith('.') || text.EndsWith('!') || text.EndsWith('?') ? text : text + ".";
    }
}

/// <summary>The codes of <see cref="SseDiagnostic"/>; they never change meaning.</summary>
public static class DiagnosticCodes
{
    /// <summary>Two functions share an id.</summary>
    public const string DuplicateId = "SSE1001";

    /// <summary>Two functions share a name.</summary>
    public const string DuplicateName = "SSE1002";

    /// <summary>
    /// A function name holds characters other than letters, digits and underscores, or declared parameters share a
    /// name.
    /// </summary>
    public const string InvalidName = "SSE1003";

    /// <summary>A parameter type has no SSE meaning.</summary>
    public const string UnsupportedParameter = "SSE1004";

    /// <summary>A return type has no SSE meaning.</summary>
    public const string UnsupportedReturn = "SSE1005";

    /// <summary>The signature does not fit the declared function type.</summary>
    public const string WrongFunctionType = "SSE1006";

    /// <summary>The parameters and the return type do not form a supported shape.</summary>
    public const string UnsupportedShape = "SSE1007";

    /// <summary>The method cannot be called: not public, generic, or its class cannot be created.</summary>
    public const string NotCallable = "SSE1008";

    /// <summary>
    /// <see cref="SseParameterAttribute"/> on a method that does not stream its rows, or none on one that does.
    /// </summary>
    public const string MisplacedParameterAttribute = "SSE1009";

    /// <summary>An assembly of the functions folder cannot be loaded, or the folder does not exist.</summary>
    public const string UnloadableAssembly = "SSE1010";

    /// <summary><see cref="SseFunctionAttribute.TableReturnType"/> on a method that does not return a table.</summary>
    public const string MisplacedTableReturnType = "SSE1011";

    /// <summary>The functions file cannot be read, or one of its definitions is wrong.</summary>
    public const string InvalidFunctionsFile = "SSE1012";

    /// <summary>
    /// An analytic connection's settings are wrong: a port out of range or used twice, a bind address that is not one,
    /// an unknown script engine.
    /// </summary>
    public const string InvalidConnection = "SSE1013";

    /// <summary>A class named as a function class declares no <see cref="SseFunctionAttribute"/> method.</summary>
    public const string NoFunctions = "SSE1014";
}

/// <summary>
/// Thrown at start-up when function declarations or connection settings have mistakes; lists them all.
/// </summary>
public sealed class SseConfigurationException : Exception
{
    /// <summary>Creates the exception from the mistakes found.</summary>
    /// <param name="diagnostics">Every mistake found.</param>
    public SseConfigurationException(IReadOnlyList<SseDiagnostic> diagnostics)
        : base($"{diagnostics.Count} problem(s) in the SSE functions and connections; "
            + "the host does not start until they are fixed:"
            + Environment.NewLine + string.Join(Environment.NewLine, diagnostics.Select(d => "  " + d)))
    {
        Diagnostics = diagnostics;
    }

    /// <summary>Gets every mistake found.</summary>
    public IReadOnlyList<SseDiagnostic> Diagnostics { get; }
}
