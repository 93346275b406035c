namespace SsePlugin.Rserve.Tests;

/// <summary>Values R computes, decoded.</summary>
[Collection(SharedRserve.Name)]
public sealed class EvalTests(RserveFixture rserve)
{
    [Fact]
    public async Task Handshake_ReportsProtocolVersion()
    {
        await using var r = await rserve.ConnectAsync();

        Assert.StartsWith("0103", r.ServerVersion, StringComparison.Ordinal);
        Assert.False(r.IsBroken);
    }

    [Fact]
    public async Task Doubles_WithNaAndNaN_KeepTheirBits()
    {
        await using var r = await rserve.ConnectAsync();

        var value = Assert.IsType<RDoubleVector>(await r.EvalAsync("c(1.5, -2, NA, NaN, Inf, NA_real_ + 1)"));

        Assert.Equal(1.5, value.Values[0]);
        Assert.Equal(-2, value.Values[1]);
        Assert.True(RNa.IsNA(value.Values[2]));
        Assert.True(double.IsNaN(value.Values[3]));
        Assert.False(RNa.IsNA(value.Values[3]));
        Assert.Equal(double.PositiveInfinity, value.Values[4]);
        Assert.True(RNa.IsNA(value.Values[5]));
    }

    [Fact]
    public async Task Integers_WithNa()
    {
        await using var r = await rserve.ConnectAsync();

        RAssert.Elements(await r.EvalAsync("c(1L, NA, -7L, .Machine$integer.max)"), 1, RNa.Integer, -7, int.MaxValue);
    }

    [Fact]
    public async Task Logicals_WithNa()
    {
        await using var r = await rserve.ConnectAsync();

        RAssert.Elements<byte>(await r.EvalAsync("c(TRUE, FALSE, NA, TRUE, TRUE)"), 1, 0, RNa.Logical, 1, 1);
    }

    [Fact]
    public async Task Strings_WithNaEmptyAndUtf8()
    {
        await using var r = await rserve.ConnectAsync();

        RAssert.Elements<string?>(
            await r.EvalAsync("c('a', NA, '', 'Z\\u00fcrich', '\\u00ffx', '\\u65e5\\u672c')"), "a", null, "", "Zürich",
            "ÿx", "日本");
        RAssert.Elements(await r.EvalAsync("nchar(c('Z\\u00fcrich', 'Zürich'))"), 6, 6);
    }

    [Fact]
    public async Task StringStartingWithByte0xFF_IsNotNa()
    {
        await using var r = await rserve.ConnectAsync();

        // Rserve doubles a leading 0xFF byte so that such a string is not taken for NA (0xFF alone); this one is not
        // UTF-8.
        RAssert.Elements<string?>(
            await r.EvalAsync("c(NA, rawToChar(as.raw(0xff)), rawToChar(as.raw(c(0xff, 0x41))))"), null, "\uFFFD",
            "\uFFFDA");
    }

    [Fact]
    public async Task Null()
    {
        await using var r = await rserve.ConnectAsync();

        Assert.Same(RNull.Instance, await r.EvalAsync("NULL"));
        Assert.Same(RNull.Instance, await r.EvalAsync("invisible(NULL)"));
    }

    [Fact]
    public async Task List_WithNamesAndNesting()
    {
        await using var r = await rserve.ConnectAsync();

        var list = Assert.IsType<RList>(await r.EvalAsync("list(a = 1, b = 'x', c = list(d = TRUE), 4L)"));

        RAssert.Texts(list.Names, "a", "b", "c", "");
        RAssert.Elements(list.Items[0], 1.0);
        RAssert.Elements<string?>(list.Items[1], "x");
        var inner = Assert.IsType<RList>(list.Items[2]);
        RAssert.Texts(inner.Names, "d");
        RAssert.Elements<byte>(inner.Items[0], 1);
        RAssert.Elements(list.Items[3], 4);
    }

    [Fact]
    public async Task PairList_DecodesAsNamedList()
    {
        await using var r = await rserve.ConnectAsync();

        var list = Assert.IsType<RList>(await r.EvalAsync("pairlist(x = 1L, y = 'b')"));

        RAssert.Texts(list.Names, "x", "y");
        RAssert.Elements(list.Items[0], 1);
        RAssert.Elements<string?>(list.Items[1], "b");
    }

    [Fact]
    public async Task Symbol()
    {
        await using var r = await rserve.ConnectAsync();

        Assert.Equal("abc", Assert.IsType<RSymbol>(await r.EvalAsync("quote(abc)")).Name);
    }

    [Fact]
    public async Task Factor_WithLabels()
    {
        await using var r = await rserve.ConnectAsync();

        var value = await r.EvalAsync("factor(c('lo', 'hi', NA, 'lo'), levels = c('lo', 'hi'))");

        Assert.True(RFrames.IsFactor(value));
        var factor = Assert.IsType<RIntegerVector>(RAssert.Elements(value, 1, 2, RNa.Integer, 1));
        RAssert.Texts(RFrames.FactorLabels(factor), "lo", "hi", null, "lo");
    }

    [Fact]
    public async Task DataFrame_FromR()
    {
        await using var r = await rserve.ConnectAsync();

        var value = await r.EvalAsync(
            "data.frame(x = c(1.5, NA), s = c('a', 'Zürich'), f = factor(c('u', 'v')), stringsAsFactors = FALSE)");

        Assert.True(RFrames.IsDataFrame(value));
        var frame = Assert.IsType<RList>(value);
        RAssert.Texts(frame.Names, "x", "s", "f");
        Assert.Equal(2, RFrames.RowCount(frame));
        Assert.True(RNa.IsNA(Assert.IsType<RDoubleVector>(frame.Items[0]).Values[1]));
        RAssert.Elements<string?>(frame.Items[1], "a", "Zürich");
        RAssert.Texts(RFrames.FactorLabels(Assert.IsType<RIntegerVector>(frame.Items[2])), "u", "v");
    }

    [Fact]
    public async Task DataFrame_WithRowNames_CountsRows()
    {
        await using var r = await rserve.ConnectAsync();

        var frame = Assert.IsType<RList>(await r.EvalAsync("data.frame(x = 1:3, row.names = c('a', 'b', 'c'))"));

        Assert.Equal(3, RFrames.RowCount(frame));
    }

    [Fact]
    public async Task Matrix_KeepsDimAttribute()
    {
        await using var r = await rserve.ConnectAsync();

        var matrix = RAssert.Elements(await r.EvalAsync("matrix(1:6, nrow = 2)"), 1, 2, 3, 4, 5, 6);

        RAssert.Elements(matrix.GetAttribute("dim")!, 2, 3);
        Assert.Null(matrix.Class);
    }

    [Fact]
    public async Task LargeReply_UsesLargeHeaders()
    {
        await using var r = await rserve.ConnectAsync();

        var value = Assert.IsType<RDoubleVector>(await r.EvalAsync("set.seed(1); x <- runif(3e6); x"));
        var sum = Assert.IsType<RDoubleVector>(await r.EvalAsync("sum(x)"));

        Assert.Equal(3_000_000, value.Length);
        Assert.Equal(sum.Values[0], value.Values.Sum(), 6);
        Assert.All(value.Values, v => Assert.InRange(v, 0, 1));
    }

    [Fact]
    public async Task VoidEval_ThenEval_SeesTheVariable()
    {
        await using var r = await rserve.ConnectAsync();

        await r.VoidEvalAsync("z <- 40\nz <- z + 2");

        RAssert.Elements(await r.EvalAsync("z"), 42.0);
    }
}
