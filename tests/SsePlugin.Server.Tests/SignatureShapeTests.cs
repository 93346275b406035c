using System.Reflection;
using SsePlugin.Server.Catalog;
using SsePlugin.Server.Discovery;
using SsePlugin.Server.Invocation;

namespace SsePlugin.Server.Tests;

/// <summary>Every entry of the shape table has a method that matches it, and compiles.</summary>
public sealed class SignatureShapeTests
{
    public static class OneOfEachShape
    {
        [SseFunction(1, SseFunctionType.Tensor)]
        public static double PerRow(double a, string b, SseDual c) => a + b.Length + c.Number;

        [SseFunction(2, SseFunctionType.Aggregation)]
        public static ValueTask<string> ColumnsToValue(string[] values) => ValueTask.FromResult(values[0]);

        [SseFunction(3, SseFunctionType.Tensor)]
        public static SseDual[] ColumnsToColumn(SseDual[] values, SseCallContext context) => values;

        [SseFunction(4, SseFunctionType.Tensor)]
        public static Task<SseTable> ColumnsToTable(double[] values) =>
            Task.FromResult(new SseTable(new SseColumn("v", values)));

        [SseFunction(5, SseFunctionType.Scalar)]
        [SseParameter("value", SseDataType.Dual)]
        public static IAsyncEnumerable<SseDual> StreamToStream(IAsyncEnumerable<SseRow> rows) =>
            throw new NotSupportedException();

        [SseFunction(6, SseFunctionType.Aggregation)]
        [SseParameter("value", SseDataType.Numeric)]
        public static Task<double> StreamToValue(IAsyncEnumerable<SseRow> rows, CancellationToken cancellationToken) =>
            Task.FromResult(0d);
    }

    [Fact]
    public void Every_shape_in_the_table_has_a_matching_method()
    {
        var matched = new HashSet<SignatureShape>();
        var methods = typeof(OneOfEachShape)
            .GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly);
        foreach (var method in methods)
        {
            var diagnostics = new List<SseDiagnostic>();
            var attribute = method.GetCustomAttribute<SseFunctionAttribute>()!;
            var plan = AttributedFunctionSource.Analyze(method, attribute, diagnostics);
            Assert.Empty(diagnostics);
            matched.Add(plan!.Shape);
        }

        Assert.Equal(SignatureShapes.All.Count, matched.Count);
    }

    [Fact]
    public void The_catalog_announces_parameters_and_return_types_of_each_shape()
    {
        var catalog = ValidationTests.Catalog(typeof(OneOfEachShape));

        Assert.Equal([1, 2, 3, 4, 5, 6], catalog.Functions.Select(f => f.Id));
        var perRow = catalog.Functions[0];
        Assert.Equal(
            [
                new ParameterDefinition("a", SseDataType.Numeric),
                new ParameterDefinition("b", SseDataType.String),
                new ParameterDefinition("c", SseDataType.Dual),
            ],
            perRow.Parameters);
        Assert.Equal(SseDataType.String, catalog.Functions[1].ReturnType);
        Assert.Equal([new ParameterDefinition("values", SseDataType.Dual)], catalog.Functions[2].Parameters);
        Assert.Equal([new ParameterDefinition("value", SseDataType.Dual)], catalog.Functions[4].Parameters);
        Assert.Equal(SseDataType.Dual, catalog.Functions[4].ReturnType);
        Assert.True(catalog.TryGet(6, out var streamToValue));
        Assert.Equal("StreamToValue(value)", streamToValue.Signature);
        Assert.False(catalog.TryGet(7, out _));
    }
}
