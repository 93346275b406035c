using System.Buffers.Binary;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SsePlugin.Server.Catalog;
using SsePlugin.Server.Discovery;

namespace SsePlugin.Server.Tests;

/// <summary>
/// Each rule of discovery, with one small bad fixture: exactly one diagnostic, its code, the member at fault.
/// </summary>
public sealed class ValidationTests
{
    public static class DuplicateIds
    {
        [SseFunction(1, SseFunctionType.Tensor)]
        public static double First(double value) => value;

        [SseFunction(1, SseFunctionType.Tensor)]
        public static double Second(double value) => value;
    }

    public static class DuplicateNames
    {
        [SseFunction(1, SseFunctionType.Tensor, Name = "Same")]
        public static double First(double value) => value;

        [SseFunction(2, SseFunctionType.Tensor, Name = "same")]
        public static double Second(double value) => value;
    }

    public static class InvalidName
    {
        [SseFunction(1, SseFunctionType.Tensor, Name = "Not-Valid")]
        public static double Function(double value) => value;
    }

    public static class ScriptFunctionName
    {
        [SseFunction(1, SseFunctionType.Tensor, Name = "ScriptEval")]
        public static double Function(double value) => value;
    }

    public static class UnsupportedParameter
    {
        [SseFunction(1, SseFunctionType.Tensor)]
        public static double Function(int value) => value;
    }

    public static class UnsupportedReturn
    {
        [SseFunction(1, SseFunctionType.Tensor)]
        public static int Function(double value) => (int)value;
    }

    public static class WrongFunctionType
    {
        [SseFunction(1, SseFunctionType.Aggregation)]
        public static double Function(double value) => value;
    }

    public static class MixedInputs
    {
        [SseFunction(1, SseFunctionType.Aggregation)]
        public static double Function(double value, double[] values) => value;
    }

    public static class AsyncPerRow
    {
        [SseFunction(1, SseFunctionType.Tensor)]
        public static Task<double> Function(double value) => Task.FromResult(value);
    }

    public static class NotPublic
    {
        [SseFunction(1, SseFunctionType.Tensor)]
        internal static double Function(double value) => value;
    }

    public static class Generic
    {
        [SseFunction(1, SseFunctionType.Tensor)]
        public static double Function<T>(double value) => value;
    }

#pragma warning disable CA1000 // The mistake under test: a function that is a static member of a generic type.
    public static class GenericClass<T>
    {
        [SseFunction(1, SseFunctionType.Tensor)]
        public static double Function(double value) => value;
    }
#pragma warning restore CA1000

    public static class FailingStaticInitializer
    {
        private static readonly string Setting = Environment.GetEnvironmentVariable("SSEPLUGIN_TEST_NEVER_SET")
            ?? throw new InvalidOperationException("Set SSEPLUGIN_TEST_NEVER_SET.");

        [SseFunction(1, SseFunctionType.Tensor)]
        public static string Function(string value) => value + Setting;
    }

    public sealed class FailingConstructor
    {
        private readonly int _length = Environment.GetEnvironmentVariable("SSEPLUGIN_TEST_NEVER_SET")!.Length;

        [SseFunction(1, SseFunctionType.Tensor)]
        public double Function(double value) => value + _length;
    }

    public sealed class Uncreatable(Uri unavailable)
    {
        [SseFunction(1, SseFunctionType.Tensor)]
        public double Function(double value) => value + unavailable.Port;
    }

    public static class MisplacedParameter
    {
        [SseFunction(1, SseFunctionType.Tensor)]
        [SseParameter("value", SseDataType.Numeric)]
        public static double Function(double value) => value;
    }

    public static class UndeclaredRowStreamValues
    {
        [SseFunction(1, SseFunctionType.Tensor)]
        public static async IAsyncEnumerable<double> Function(IAsyncEnumerable<SseRow> rows)
        {
            await foreach (var row in rows)
            {
                yield return row.Number(0);
            }
        }
    }

    public static class RepeatedParameterName
    {
        [SseFunction(1, SseFunctionType.Aggregation)]
        [SseParameter("value", SseDataType.Numeric)]
        [SseParameter("Value", SseDataType.Numeric)]
        public static async Task<double> Function(IAsyncEnumerable<SseRow> rows)
        {
            var sum = 0d;
            await foreach (var row in rows)
            {
                sum += row.Number(0) + row.Number(1);
            }

            return sum;
        }
    }

    public static class ByRef
    {
        [SseFunction(1, SseFunctionType.Tensor)]
        public static double Function(ref double value) => value;
    }

    public static class MisplacedTableReturnType
    {
        [SseFunction(1, SseFunctionType.Tensor, TableReturnType = SseDataType.Numeric)]
        public static double Function(double value) => value;
    }

    [Theory]
    [InlineData(typeof(DuplicateIds), DiagnosticCodes.DuplicateId, "DuplicateIds.First")]
    [InlineData(typeof(DuplicateNames), DiagnosticCodes.DuplicateName, "DuplicateNames.First")]
    [InlineData(typeof(InvalidName), DiagnosticCodes.InvalidName, "InvalidName.Function")]
    [InlineData(typeof(ScriptFunctionName), DiagnosticCodes.InvalidName, "ScriptFunctionName.Function")]
    [InlineData(typeof(UnsupportedParameter), DiagnosticCodes.UnsupportedParameter, "UnsupportedParameter.Function")]
    [InlineData(typeof(ByRef), DiagnosticCodes.UnsupportedParameter, "ByRef.Function")]
    [InlineData(typeof(UnsupportedReturn), DiagnosticCodes.UnsupportedReturn, "UnsupportedReturn.Function")]
    [InlineData(typeof(WrongFunctionType), DiagnosticCodes.WrongFunctionType, "WrongFunctionType.Function")]
    [InlineData(typeof(MixedInputs), DiagnosticCodes.UnsupportedShape, "MixedInputs.Function")]
    [InlineData(typeof(AsyncPerRow), DiagnosticCodes.UnsupportedShape, "AsyncPerRow.Function")]
    [InlineData(typeof(NotPublic), DiagnosticCodes.NotCallable, "NotPublic.Function")]
    [InlineData(typeof(Generic), DiagnosticCodes.NotCallable, "Generic.Function")]
    [InlineData(typeof(GenericClass<>), DiagnosticCodes.NotCallable, "GenericClass`1.Function")]
    [InlineData(typeof(Uncreatable), DiagnosticCodes.NotCallable, "Uncreatable.Function")]
    [InlineData(typeof(FailingStaticInitializer), DiagnosticCodes.NotCallable, "FailingStaticInitializer.Function")]
    [InlineData(typeof(FailingConstructor), DiagnosticCodes.NotCallable, "FailingConstructor.Function")]
    [InlineData(typeof(MisplacedParameter), DiagnosticCodes.MisplacedParameterAttribute, "MisplacedParameter.Function")]
    [InlineData(
        typeof(MisplacedTableReturnType),
        DiagnosticCodes.MisplacedTableReturnType,
        "MisplacedTableReturnType.Function")]
    [InlineData(
        typeof(UndeclaredRowStreamValues),
        DiagnosticCodes.MisplacedParameterAttribute,
        "UndeclaredRowStreamValues.Function")]
    [InlineData(typeof(RepeatedParameterName), DiagnosticCodes.InvalidName, "RepeatedParameterName.Function")]
    public void A_bad_declaration_gives_one_diagnostic_naming_the_member(Type fixture, string code, string member)
    {
        var error = Assert.Throws<SseConfigurationException>(() => Catalog(fixture));

        var diagnostic = Assert.Single(error.Diagnostics);
        Assert.Equal(code, diagnostic.Code);
        Assert.Equal(member, diagnostic.Member);
        Assert.Contains("Fix:", diagnostic.ToString());
        Assert.Contains(diagnostic.ToString(), error.Message);
    }

    public static class CSharpTypeNames
    {
        [SseFunction(1, SseFunctionType.Tensor)]
        public static double Nullable(double? value) => value ?? 0;

        [SseFunction(2, SseFunctionType.Tensor)]
        public static Task<int> Awaited(double value) => Task.FromResult((int)value);

        [SseFunction(3, SseFunctionType.Aggregation)]
        public static double Unsupported(List<int>[] values) => values.Length;
    }

    [Fact]
    public void A_class_named_as_a_function_class_that_declares_none_is_a_mistake_unless_a_whole_assembly_is_searched()
    {
        var services = new ServiceCollection().BuildServiceProvider();

        var error = Assert.Throws<SseConfigurationException>(
            () => FunctionCatalog.Create([new AttributedFunctionSource([typeof(string)], named: true)], services));
        var diagnostic = Assert.Single(error.Diagnostics);
        Assert.Equal((DiagnosticCodes.NoFunctions, "System.String"), (diagnostic.Code, diagnostic.Member));
        Assert.Contains("declares no method marked [SseFunction]", diagnostic.Problem);
        Assert.Empty(FunctionCatalog.Create([new AttributedFunctionSource([typeof(string)])], services).Functions);
    }

    [Fact]
    public void Types_in_messages_are_written_as_in_CSharp()
    {
        var error = Assert.Throws<SseConfigurationException>(
            () => Catalog(typeof(CSharpTypeNames), typeof(ByRef), typeof(WrongFunctionType)));

        Assert.Contains("has type double?, which", error.Message);
        Assert.Contains("The return type Task<int> has no SSE meaning", error.Message);
        Assert.Contains("has type List<int>[], which", error.Message);
        Assert.Contains("has type ref double, which", error.Message);
        Assert.Contains("cannot be an Aggregation function", error.Message);
    }

    [Fact]
    public void A_class_that_fails_to_initialize_is_reported_with_what_it_threw()
    {
        var error = Assert.Throws<SseConfigurationException>(
            () => Catalog(typeof(FailingStaticInitializer), typeof(FailingConstructor)));

        Assert.Contains(
            "The static initializer of its class FailingStaticInitializer failed: InvalidOperationException: "
            + "Set SSEPLUGIN_TEST_NEVER_SET.",
            error.Message);
        Assert.Contains("Its class FailingConstructor could not be created: NullReferenceException", error.Message);
    }

    [Fact]
    public void Diagnostics_point_at_the_source_line_of_the_attribute()
    {
        var error = Assert.Throws<SseConfigurationException>(() => Catalog(typeof(InvalidName)));

        Assert.Matches(@"^ValidationTests\.cs:\d+$", error.Diagnostics.Single().Location);
    }

    [Fact]
    public void Every_mistake_is_reported_at_once()
    {
        var error = Assert.Throws<SseConfigurationException>(
            () => Catalog(typeof(InvalidName), typeof(UnsupportedReturn), typeof(NotPublic)));

        Assert.Equal(
            [DiagnosticCodes.InvalidName, DiagnosticCodes.UnsupportedReturn, DiagnosticCodes.NotCallable],
            error.Diagnostics.Select(d => d.Code).Order());
    }

    [Fact]
    public void A_missing_functions_folder_is_reported()
    {
        var error = Assert.Throws<SseConfigurationException>(() => FolderCatalog("/no/such/folder"));

        Assert.Equal(DiagnosticCodes.UnloadableAssembly, error.Diagnostics.Single().Code);
    }

    [Fact]
    public void A_native_library_in_the_functions_folder_is_left_alone_and_a_broken_file_is_reported()
    {
        var folder = Directory.CreateTempSubdirectory("sseplugin-native-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(folder, "native.dll"), NativeLibraryImage());
            Assert.Empty(FolderCatalog(folder).Functions);

            File.WriteAllText(Path.Combine(folder, "broken.dll"), "not a library");
            var error = Assert.Throws<SseConfigurationException>(() => FolderCatalog(folder));
            var diagnostic = error.Diagnostics.Single();
            Assert.Equal(("SSE1010", "broken.dll"), (diagnostic.Code, diagnostic.Member));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("SsePlugin:JavaScript:Timeout", "5", "JavaScriptOptions: 'Timeout'")]
    [InlineData("SsePlugin:Rserve:Adress", "h:1", "ROptions: 'Adress'")]
    public void An_engine_s_unknown_setting_stops_a_library_mode_app_at_start(string key, string value, string message)
    {
        using var services = LibraryModeServices(key, value);

        var error = Assert.Throws<InvalidOperationException>(
            () => services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("SsePlugin:MaxConcurrentCalls", "-1", "SsePlugin:MaxConcurrentCalls must be 0 (no limit) or more.")]
    [InlineData("SsePlugin:JavaScript:MaxStatements", "0", "SsePlugin:JavaScript:MaxStatements must be 1 or more.")]
    [InlineData(
        "SsePlugin:Rserve:IsolationIdBase",
        "4294967295",
        "SsePlugin:Rserve:IsolationIdBase must be 0 (R calls not isolated) or at most 4293918719.")]
    [InlineData(
        "SsePlugin:Connections:0:Port", "50060", "SsePlugin:Connections:0: a connection's name starts with a letter")]
    public void A_setting_out_of_range_stops_a_library_mode_app_at_start_with_its_own_message(
        string key, string value, string message)
    {
        using var services = LibraryModeServices(key, value);

        var error = Assert.Throws<OptionsValidationException>(
            () => services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains(message, error.Message);
    }

    // An app's services as library mode registers them, with one setting from its configuration.
    private static ServiceProvider LibraryModeServices(string key, string value)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(
            new ConfigurationBuilder().AddInMemoryCollection([new(key, value)]).Build());
        services.AddSsePlugin().AddJavaScript().AddR();
        return services.BuildServiceProvider();
    }

    internal static FunctionCatalog Catalog(params Type[] types) =>
        FunctionCatalog.Create([new AttributedFunctionSource(types)], new ServiceCollection().BuildServiceProvider());

    private static FunctionCatalog FolderCatalog(string folder) =>
        FunctionCatalog.Create([new FolderFunctionSource(folder)], new ServiceCollection().BuildServiceProvider());

    // The smallest 64-bit Windows DLL image: headers without sections and without a CLI header.
    private static byte[] NativeLibraryImage()
    {
        var image = new byte[512];
        "MZ"u8.CopyTo(image);
        BinaryPrimitives.WriteInt32LittleEndian(image.AsSpan(0x3c), 0x80);
        "PE\0\0"u8.CopyTo(image.AsSpan(0x80));
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(0x84), 0x8664);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(0x94), 240);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(0x96), 0x2022);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(0x98), 0x20b);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(0x98 + 108), 16);
        return image;
    }
}
