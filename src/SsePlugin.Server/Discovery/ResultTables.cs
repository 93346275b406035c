namespace SsePlugin.Server.Discovery;

/// <summary>Turns what a whole-call function returns into the table that is sent to Qlik.</summary>
internal static class ResultTables
{
    public static SseTable From(double value) => new(new SseColumn(string.Empty, [value]));

    public static SseTable From(string? value) => new(new SseColumn(string.Empty, [value ?? string.Empty]));

    public static SseTable From(SseDual value) =>
        new(new SseColumn(string.Empty, [value.Number], [value.Text ?? string.Empty]));

    public static SseTable From(double[]? values) =>
        new(new SseColumn(string.Empty, values ?? throw NoResult("column")));

    public static SseTable From(string[]? values) =>
        new(new SseColumn(string.Empty, values ?? throw NoResult("column")));

    public static SseTable From(SseDual[]? values)
    {
        if (values is null)
        {
            throw NoResult("column");
        }

        var numbers = new double[values.Length];
        var strings = new string[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            numbers[i] = values[i].Number;
            strings[i] = values[i].Text ?? string.Empty;
        }

        return new(new SseColumn(string.Empty, numbers, strings));
    }

    public static SseTable From(SseTable? table) => table ?? throw NoResult("table");

    public static async ValueTask<SseTable> FromTask<T>(Task<T> task, Func<T, SseTable> from) =>
        from(await (task ?? throw NoResult("task")).ConfigureAwait(false));

    public static async ValueTask<SseTable> FromValueTask<T>(ValueTask<T> task, Func<T, SseTable> from) =>
        from(await task.ConfigureAwait(false));

    private static InvalidOperationException NoResult(string what) =>
        new($"the function returned null instead of a {what}");
}
