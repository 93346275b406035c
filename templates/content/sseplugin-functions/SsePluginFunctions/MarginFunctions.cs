using SsePlugin;

namespace SsePluginFunctions;

/// <summary>
/// Functions Qlik calls as <c>Alias.Margin(Sales, Cost)</c> and <c>Alias.TotalMargin(Sales, Cost)</c>.
/// </summary>
public static class MarginFunctions
{
    /// <summary>The id Qlik's engine calls <see cref="Margin"/> by; each function of a host has its own.</summary>
    public const int MarginId = 100;

    /// <summary>The id of <see cref="TotalMargin"/>.</summary>
    public const int TotalMarginId = 101;

    /// <summary>Per row: the share of the sales kept after the cost; null in Qlik (NaN) without sales.</summary>
    [SseFunction(MarginId, SseFunctionType.Tensor)]
    public static double Margin(double sales, double cost) => sales == 0 ? double.NaN : (sales - cost) / sales;

    /// <summary>Over all rows: the share of all sales kept after all costs.</summary>
    [SseFunction(TotalMarginId, SseFunctionType.Aggregation)]
    public static double TotalMargin(double[] sales, double[] cost)
    {
        var total = sales.Sum();
        return total == 0 ? double.NaN : (total - cost.Sum()) / total;
    }
}
