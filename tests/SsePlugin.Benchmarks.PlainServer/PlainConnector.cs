using Grpc.Core;
using Qlik.Sse;

namespace SsePlugin.Benchmarks.PlainServer;

/// <summary>
/// SumOfRows (id 5) and SumOfColumn (id 6) written the way a C# developer would against the generated stubs:
/// one answer message per request message for the tensor, one row for the aggregation.
/// </summary>
internal sealed class PlainConnector : Connector.ConnectorBase
{
    private const int SumOfRowsId = 5;
    private const int SumOfColumnId = 6;

    private static readonly Capabilities Definitions = new()
    {
        PluginIdentifier = "PlainServer",
        PluginVersion = "1.0.0",
        Functions =
        {
            new FunctionDefinition
            {
                Name = "SumOfRows",
                FunctionId = SumOfRowsId,
                FunctionType = FunctionType.Tensor,
                ReturnType = DataType.Numeric,
                Params =
                {
                    new Parameter { Name = "col1", DataType = DataType.Numeric },
                    new Parameter { Name = "col2", DataType = DataType.Numeric },
                },
            },
            new FunctionDefinition
            {
                Name = "SumOfColumn",
                FunctionId = SumOfColumnId,
                FunctionType = FunctionType.Aggregation,
                ReturnType = DataType.Numeric,
                Params = { new Parameter { Name = "col1", DataType = DataType.Numeric } },
            },
        },
    };

    public override Task<Capabilities> GetCapabilities(Empty request, ServerCallContext context) =>
        Task.FromResult(Definitions);

    public override async Task ExecuteFunction(
        IAsyncStreamReader<BundledRows> requestStream,
        IServerStreamWriter<BundledRows> responseStream,
        ServerCallContext context)
    {
        var headerBytes = context.RequestHeaders.GetValueBytes("qlik-functionrequestheader-bin")
            ?? throw new RpcException(
                new Status(StatusCode.InvalidArgument, "qlik-functionrequestheader-bin is missing."));
        var header = FunctionRequestHeader.Parser.ParseFrom(headerBytes);
        switch (header.FunctionId)
        {
            case SumOfRowsId:
                await foreach (var bundle in requestStream.ReadAllAsync(context.CancellationToken))
                {
                    var answer = new BundledRows();
                    foreach (var row in bundle.Rows)
                    {
                        answer.Rows.Add(
                            new Row { Duals = { new Dual { NumData = row.Duals[0].NumData + row.Duals[1].NumData } } });
                    }

                    await responseStream.WriteAsync(answer);
                }

                break;

            case SumOfColumnId:
                var sum = 0d;
                await foreach (var bundle in requestStream.ReadAllAsync(context.CancellationToken))
                {
                    foreach (var row in bundle.Rows)
                    {
                        sum += row.Duals[0].NumData;
                    }
                }

                await responseStream.WriteAsync(
                    new BundledRows { Rows = { new Row { Duals = { new Dual { NumData = sum } } } } });
                break;

            default:
                throw new RpcException(new Status(StatusCode.NotFound, $"Unknown function id {header.FunctionId}."));
        }
    }
}
