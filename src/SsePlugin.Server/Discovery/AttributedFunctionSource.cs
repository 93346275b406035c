using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using SsePlugin.Server.Catalog;
using SsePlugin.Server.Invocation;

namespace SsePlugin.Server.Discovery;

/// <summary>
/// Finds the methods marked <see cref="SseFunctionAttribute"/> on the classes it is given, checks every rule, and
/// compiles each valid one. Instance methods share one instance of their class, created through the host's
/// services, for the life of the host: it must be safe to call from several calls at once.
/// </summary>
/// <param name="types">The function classes.</param>
/// <param name="named">Whether the classes were named one by one, so that one without functions is a mistake; not
/// when they are every class of an assembly.</param>
internal sealed class AttributedFunctionSource(IEnumerable<Type> types, bool named = false) : IFunctionSource
{
    private static readonly Dictionary<Type, string> Keywords = new()
    {
        [typeof(bool)] = "bool", [typeof(byte)] = "byte", [typeof(char)] = "char", [typeof(decimal)] = "decimal",
        [typeof(double)] = "double", [typeof(float)] = "float", [typeof(int)] = "int", [typeof(long)] = "long",
        [typeof(object)] = "object", [typeof(short)] = "short", [typeof(string)] = "string", [typeof(uint)] = "uint",
        [typeof(ulong)] = "ulong", [typeof(void)] = "void",
    };

    /// <summary>Every method a class declares, public or not, static or not.</summary>
    internal const BindingFlags AllMethods =
        BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static
        | BindingFlags.DeclaredOnly;

    /// <inheritdoc/>
    public IEnumerable<FunctionDefinition> GetFunctions(
        IServiceProvider services, ICollection<SseDiagnostic> diagnostics)
    {
        var functions = new List<FunctionDefinition>();
        foreach (var type in types.Distinct())
        {
            object? instance = null;
            var initialized = false;
            var declares = false;
            foreach (var method in type.GetMethods(AllMethods).OrderBy(m => m.MetadataToken))
            {
                if (method.GetCustomAttribute<SseFunctionAttribute>() is not { } attribute)
                {
                    continue;
                }

                declares = true;

                var found = new List<SseDiagnostic>();
                MethodPlan? plan;
                try
                {
                    plan = Analyze(method, attribute, found);
                }
                catch (Exception e) when (
                    e is FileNotFoundException or FileLoadException or TypeLoadException or BadImageFormatException)
                {
                    // A parameter or return type from an assembly that is missing, or present in another build.
                    diagnostics.Add(new SseDiagnostic(
                        DiagnosticCodes.UnloadableAssembly,
                        MemberName(method),
                        Location(attribute),
                        $"A type of its signature could not be loaded: {e.Message}",
                        "Copy the assembly that defines it, in the version the function was built against, into the "
                        + "functions folder."));
                    continue;
                }

                // A class's static initializer runs now rather than at its first call, so that a failure stops the
                // host with its message instead of failing every call with TypeInitializationException.
                if (plan is not null && found.Count == 0 && !initialized)
                {
                    initialized = true;
                    Initialize(type, method, attribute, found);
                }

                if (plan is not null && found.Count == 0 && !method.IsStatic && instance is null)
                {
                    instance = CreateInstance(services, method, attribute, found);
                }

                foreach (var diagnostic in found)
                {
                    diagnostics.Add(diagnostic);
                }

                if (plan is null || found.Count > 0)
                {
                    continue;
                }

                var target = method.IsStatic ? null : instance;
                var invoker = InvokerCompiler.Compile(method, target, plan.Arguments, plan.Result, plan.Shape);
                functions.Add(new FunctionDefinition(
                    attribute.Id,
                    plan.Name,
                    attribute.FunctionType,
                    plan.Result.Kind == ResultKind.Table ? attribute.TableReturnType : plan.Result.DataType,
                    plan.Parameters,
                    method.IsDefined(typeof(NoCacheAttribute)),
                    MemberName(method),
                    invoker,
                    Location(attribute)));
            }

            if (named && !declares)
            {
                diagnostics.Add(new SseDiagnostic(
                    DiagnosticCodes.NoFunctions,
                    type.FullName ?? type.Name,
                    null,
                    "The class was named as a function class, but it declares no method marked [SseFunction].",
                    "Mark its functions with [SseFunction], or name the class that declares them."));
            }
        }

        return functions;
    }

    /// <summary>
    /// Checks one method against every rule; returns its plan, or <see langword="null"/> if it cannot be served.
    /// </summary>
    internal static MethodPlan? Analyze(
        MethodInfo method, SseFunctionAttribute attribute, ICollection<SseDiagnostic> diagnostics)
    {
        void Report(string code, string problem, string fix) =>
            diagnostics.Add(new SseDiagnostic(code, MemberName(method), Location(attribute), problem, fix));

        var name = attribute.Name ?? method.Name;
        if (!IsValidName(name))
        {
            Report(
                DiagnosticCodes.InvalidName,
                $"The function name '{name}' holds characters Qlik does not accept.",
                "Use letters, digits and underscores only.");
        }

        if (!method.IsPublic || method.IsGenericMethodDefinition || method.DeclaringType!.ContainsGenericParameters)
        {
            var why = !method.IsPublic ? "not public"
                : method.IsGenericMethodDefinition ? "generic"
                : "in a generic class";
            Report(
                DiagnosticCodes.NotCallable,
                $"The method is {why}.",
                "Make it a public, non-generic method of a non-generic class.");
        }

        var arguments = new List<ArgumentPlan>();
        var parameters = new List<ParameterDefinition>();
        var inputs = new HashSet<ArgumentKind>();
        var supported = true;
        var dataCount = 0;
        foreach (var parameter in method.GetParameters())
        {
            if (parameter.ParameterType.IsByRef
                || SignatureShapes.ClassifyParameter(parameter.ParameterType) is not var (kind, dataType))
            {
                Report(
                    DiagnosticCodes.UnsupportedParameter,
                    $"Parameter '{parameter.Name}' has type {CSharpName(parameter.ParameterType)}, which has no SSE "
                    + "meaning.",
                    "Use double, string or SseDual (per row), an array of one (whole columns), "
                    + "IAsyncEnumerable<SseRow> (a row stream), SseCallContext or CancellationToken.");
                supported = false;
                continue;
            }

            var isData = kind is ArgumentKind.Value or ArgumentKind.Column or ArgumentKind.RowStream;
            arguments.Add(new ArgumentPlan(kind, dataType, isData ? dataCount++ : -1));
            if (isData)
            {
                inputs.Add(kind);
                if (kind != ArgumentKind.RowStream)
                {
                    parameters.Add(new ParameterDefinition(parameter.Name!, dataType));
                }
            }
        }

        if (SignatureShapes.ClassifyResult(method.ReturnType) is not { } result)
        {
            Report(
                DiagnosticCodes.UnsupportedReturn,
                $"The return type {CSharpName(method.ReturnType)} has no SSE meaning.",
                "Return double, string or SseDual, an array of one, an SseTable, a Task or ValueTask of any of these, "
                + "or IAsyncEnumerable<double|string|SseDual>.");
            return null;
        }

        if (!supported)
        {
            return null;
        }

        if (attribute.HasTableReturnType && result.Kind != ResultKind.Table)
        {
            Report(
                DiagnosticCodes.MisplacedTableReturnType,
                "TableReturnType is set, but the method does not return an SseTable; its return type already says "
                + "what it answers.",
                "Remove TableReturnType from [SseFunction].");
        }

        var declared = method.GetCustomAttributes<SseParameterAttribute>().ToList();
        if (inputs.Contains(ArgumentKind.RowStream))
        {
            if (declared.Count == 0)
            {
                Report(
                    DiagnosticCodes.MisplacedParameterAttribute,
                    "The method reads a row stream but declares no [SseParameter], so Qlik would be told it takes no "
                    + "values.",
                    "Declare each value of a row, in order: [SseParameter(\"name\", SseDataType.Numeric)].");
            }

            var repeatedNames = declared
                .GroupBy(p => p.Name, StringComparer.OrdinalIgnoreCase)
                .Where(g => g.Key.Length == 0 || g.Count() > 1);
            foreach (var repeated in repeatedNames)
            {
                Report(
                    DiagnosticCodes.InvalidName,
                    repeated.Key.Length == 0
                        ? "An [SseParameter] has an empty name."
                        : $"[SseParameter] names '{repeated.Key}' more than once.",
                    "Give each declared parameter a name of its own.");
            }

            parameters.AddRange(declared.Select(p => new ParameterDefinition(p.Name, p.DataType)));
        }
        else if (declared.Count > 0)
        {
            Report(
                DiagnosticCodes.MisplacedParameterAttribute,
                "[SseParameter] declares parameters, but the method does not read a row stream, so they would be "
                + "ignored.",
                "Remove [SseParameter]; the method's own parameters are what Qlik sees.");
        }

        if (InputOf(inputs, arguments, result, attribute.FunctionType) is not { } input)
        {
            Report(
                DiagnosticCodes.UnsupportedShape,
                "The parameters mix per-row values, whole columns and row streams.",
                "Take only per-row values (double, string, SseDual), only arrays of them, or one "
                + "IAsyncEnumerable<SseRow>.");
            return null;
        }

        var fits = SignatureShapes.All
            .Where(s => s.Input == input && s.Result == result.Kind && (s.AllowsAwait || result.Awaited == Awaited.No))
            .ToList();
        var shape = fits.FirstOrDefault(s => s.FunctionTypes.Contains(attribute.FunctionType));
        if (fits.Count == 0)
        {
            Report(
                DiagnosticCodes.UnsupportedShape,
                $"A method taking {Describe(input)} cannot return {CSharpName(method.ReturnType)}.",
                ShapeHint);
            return null;
        }

        if (shape is null)
        {
            var allowed = string.Join(" or ", fits.SelectMany(s => s.FunctionTypes).Distinct());
            var article = attribute.FunctionType == SseFunctionType.Aggregation ? "an" : "a";
            Report(
                DiagnosticCodes.WrongFunctionType,
                $"A method taking {Describe(input)} and returning {CSharpName(method.ReturnType)} cannot be "
                + $"{article} {attribute.FunctionType} function.",
                $"Declare it as {allowed}, or change the signature: {ShapeHint}");
            return null;
        }

        return new MethodPlan(name, parameters, arguments, result, shape);
    }

    private const string ShapeHint =
        "per-row functions (scalar, tensor) take double/string/SseDual and return one; aggregations take arrays or a "
        + "row stream and return one value; "
        + "tensor functions may also take arrays and return an array or an SseTable, or stream rows in and values out.";

    private static InputKind? InputOf(
        HashSet<ArgumentKind> inputs, List<ArgumentPlan> arguments, ResultPlan result, SseFunctionType functionType)
    {
        if (inputs.Count == 0)
        {
            // Without data parameters, per-row values answer per row and everything else answers once per call.
            var perRow = result.Kind == ResultKind.Value && result.Awaited == Awaited.No;
            return perRow && functionType != SseFunctionType.Aggregation
                ? InputKind.Rows
                : InputKind.Columns;
        }

        if (inputs.Count > 1)
        {
            return null;
        }

        return inputs.First() switch
        {
            ArgumentKind.Value => InputKind.Rows,
            ArgumentKind.Column => InputKind.Columns,
            _ => arguments.Count(a => a.Kind == ArgumentKind.RowStream) == 1 ? InputKind.Stream : null,
        };
    }

    private static string Describe(InputKind input) => input switch
    {
        InputKind.Rows => "per-row values",
        InputKind.Columns => "whole columns",
        _ => "a row stream",
    };

    private static void Initialize(
        Type type, MethodInfo method, SseFunctionAttribute attribute, List<SseDiagnostic> diagnostics)
    {
        try
        {
            RuntimeHelpers.RunClassConstructor(type.TypeHandle);
        }
        catch (Exception e)
        {
            diagnostics.Add(new SseDiagnostic(
                DiagnosticCodes.NotCallable,
                MemberName(method),
                Location(attribute),
                $"The static initializer of its class {type.Name} failed: {Cause(e)}",
                "Fix what the static fields or the static constructor need (a setting, a file, an assembly), or set "
                + "them up in a constructor of an instance class."));
        }
    }

    private static object? CreateInstance(
        IServiceProvider services, MethodInfo method, SseFunctionAttribute attribute, List<SseDiagnostic> diagnostics)
    {
        var type = method.DeclaringType!;
        try
        {
            return ActivatorUtilities.CreateInstance(services, type);
        }
        catch (Exception e)
        {
            diagnostics.Add(new SseDiagnostic(
                DiagnosticCodes.NotCallable,
                MemberName(method),
                Location(attribute),
                $"Its class {type.Name} could not be created: {Cause(e)}",
                "Make the method static, or give the class a public constructor that succeeds and whose parameters "
                + "the host's services can supply."));
            return null;
        }
    }

    // Reflection and type initialization wrap what the class itself threw.
    private static string Cause(Exception exception)
    {
        while (exception is TargetInvocationException or TypeInitializationException
            && exception.InnerException is { } inner)
        {
            exception = inner;
        }

        return $"{exception.GetType().Name}: {exception.Message}";
    }

    internal static bool IsValidName(string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    // A type as C# writes it (double?, ref double, Task<int>), not as reflection names it (Nullable`1, Double&,
    // Task`1).
    private static string CSharpName(Type type) => type switch
    {
        { IsByRef: true } => $"ref {CSharpName(type.GetElementType()!)}",
        { IsArray: true } => $"{CSharpName(type.GetElementType()!)}[]",
        _ when Nullable.GetUnderlyingType(type) is { } value => $"{CSharpName(value)}?",
        { IsGenericType: true } =>
            $"{type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)]}"
            + $"<{string.Join(", ", type.GetGenericArguments().Select(CSharpName))}>",
        _ => Keywords.GetValueOrDefault(type, type.Name),
    };

    private static string MemberName(MethodInfo method) => $"{method.DeclaringType?.Name}.{method.Name}";

    private static string? Location(SseFunctionAttribute attribute) =>
        attribute.SourceFile.Length == 0 ? null : $"{Path.GetFileName(attribute.SourceFile)}:{attribute.SourceLine}";

    /// <summary>A method that passed every rule, ready to compile.</summary>
    internal sealed record MethodPlan(
        string Name,
        IReadOnlyList<ParameterDefinition> Parameters,
        IReadOnlyList<ArgumentPlan> Arguments,
        ResultPlan Result,
        SignatureShape Shape);
}
