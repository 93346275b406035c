using System.Diagnostics;
using Xunit.Abstractions;

namespace SsePlugin.Rserve.Tests;

/// <summary>Values sent from .NET, checked by R.</summary>
[Collection(SharedRserve.Name)]
public sealed class AssignTests(RserveFixture rserve, ITestOutputHelper output)
{
    [Fact]
    public async Task Vectors_ArriveWithTheirTypes()
    {
        await using var r = await rserve.ConnectAsync();

        await r.AssignAsync("d", new RDoubleVector([1.5, -2]));
        await r.AssignAsync("i", new RIntegerVector([3, RNa.Integer]));
        await r.AssignAsync("l", new RLogicalVector([1, 0, RNa.Logical]));
        await r.AssignAsync("s", new RStringVector(["a", null, "", "Zürich", "ÿ", "日本"]));

        RAssert.Elements<string?>(
            await r.EvalAsync("sapply(list(d, i, l, s), function(v) paste0(class(v), ':', paste(v, collapse = ',')))"),
            "numeric:1.5,-2", "integer:3,NA", "logical:TRUE,FALSE,NA", "character:a,NA,,Zürich,ÿ,日本");
        RAssert.Elements(await r.EvalAsync("nchar(s)"), 1, RNa.Integer, 0, 6, 1, 2);
        RAssert.Elements<byte>(await r.EvalAsync("is.na(s)"), 0, 1, 0, 0, 0, 0);
    }

    [Fact]
    public async Task Vectors_SendOnlyTheirLength()
    {
        await using var r = await rserve.ConnectAsync();

        await r.AssignAsync("d", new RDoubleVector([1, 2, 3, 4, 5], 2));
        await r.AssignAsync("s", new RStringVector(["x", "y", "z"], 1));
        await r.AssignAsync("l", new RLogicalVector([1, 1, 1, 1, 1, 1], 5));

        RAssert.Elements<string?>(
            await r.EvalAsync("c(paste(d, collapse = ','), paste(s, collapse = ','), paste(l, collapse = ','))"),
            "1,2",
            "x",
            "TRUE,TRUE,TRUE,TRUE,TRUE");
    }

    [Fact]
    public async Task NaAndNaN_StayDistinct()
    {
        await using var r = await rserve.ConnectAsync();

        await r.AssignAsync("x", new RDoubleVector([RNa.Double, double.NaN, 1]));

        RAssert.Elements<byte>(await r.EvalAsync("is.na(x)"), 1, 1, 0);
        RAssert.Elements<byte>(await r.EvalAsync("is.nan(x)"), 0, 1, 0);
        var back = Assert.IsType<RDoubleVector>(await r.EvalAsync("x"));
        Assert.True(RNa.IsNA(back.Values[0]));
        Assert.False(RNa.IsNA(back.Values[1]));
        Assert.True(double.IsNaN(back.Values[1]));
    }

    [Fact]
    public async Task DataFrame_IsAProperDataFrameInR()
    {
        await using var r = await rserve.ConnectAsync();
        var frame = RFrames.DataFrame(
            ["n", "s", "i", "b"],
            [
                new RDoubleVector([1.5, RNa.Double, 3]), new RStringVector(["a", null, "Zürich"]),
                new RIntegerVector([1, 2, 3]), new RLogicalVector([1, 0, 2])],
            3);

        await r.AssignAsync("q", frame);

        RAssert.Elements<byte>(await r.EvalAsync("is.data.frame(q)"), 1);
        RAssert.Elements(await r.EvalAsync("nrow(q)"), 3);
        RAssert.Elements<string?>(await r.EvalAsync("names(q)"), "n", "s", "i", "b");
        RAssert.Elements<string?>(await r.EvalAsync("sapply(q, class)"), "numeric", "character", "integer", "logical");
        RAssert.Elements<string?>(await r.EvalAsync("class(q$s)"), "character");
        RAssert.Elements(await r.EvalAsync("as.integer(rownames(q))"), 1, 2, 3);
        RAssert.Elements<byte>(
            await r.EvalAsync("c(is.na(q$n[2]), is.nan(q$n[2]), is.na(q$s[2]), is.na(q$b[3]))"), 1, 0, 1, 1);
        RAssert.Elements(await r.EvalAsync("nchar(q$s[3])"), 6);
        var back = await r.EvalAsync("q");
        Assert.True(RFrames.IsDataFrame(back));
        Assert.Equal(3, RFrames.RowCount((RList)back));
    }

    [Fact]
    public async Task DataFrame_WithoutRows()
    {
        await using var r = await rserve.ConnectAsync();

        await r.AssignAsync("q", RFrames.DataFrame(["a"], [new RDoubleVector([])], 0));

        RAssert.Elements<byte>(await r.EvalAsync("is.data.frame(q) && nrow(q) == 0 && identical(names(q), 'a')"), 1);
    }

    [Fact]
    public async Task ListsAndAttributes_RoundTrip()
    {
        await using var r = await rserve.ConnectAsync();
        var list = new RList([new RDoubleVector([1]), RNull.Instance, new RSymbol("sym")])
        {
            Attributes = [new("names", new RStringVector(["a", "b", "c"])), new("note", new RStringVector(["hello"]))],
        };

        await r.AssignAsync("x", list);

        RAssert.Elements<string?>(
            await r.EvalAsync("c(names(x), attr(x, 'note'), as.character(is.null(x$b)), class(x$c))"),
            "a",
            "b",
            "c",
            "hello",
            "TRUE",
            "name");
    }

    [Fact]
    public async Task LargeMessage_UsesLargeHeaders()
    {
        await using var r = await rserve.ConnectAsync();
        var values = new double[2_500_000];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = i % 1000;
        }

        await r.AssignAsync("big", new RDoubleVector(values));

        RAssert.Elements(await r.EvalAsync("c(sum(big), length(big))"), values.Sum(), values.Length);
    }

    [Fact]
    public async Task MillionRowFrame_AssignAndAdd()
    {
        await using var r = await rserve.ConnectAsync();
        const int Rows = 1_000_000;
        var a = new double[Rows];
        var b = new double[Rows];
        for (var i = 0; i < Rows; i++)
        {
            a[i] = i * 0.5;
            b[i] = Rows - i;
        }

        a[7] = RNa.Double;
        var frame = RFrames.DataFrame(["a", "b"], [new RDoubleVector(a), new RDoubleVector(b)], Rows);
        TimeSpan bestAssign = TimeSpan.MaxValue, bestEval = TimeSpan.MaxValue;
        RDoubleVector? sum = null;
        for (var run = 0; run < 3; run++)
        {
            var clock = Stopwatch.StartNew();
            await r.AssignAsync("q", frame);
            var assign = clock.Elapsed;
            clock.Restart();
            sum = Assert.IsType<RDoubleVector>(await r.EvalAsync("q$a + q$b"));
            var eval = clock.Elapsed;
            output.WriteLine(
                $"run {run + 1}: assign 1M x 2 doubles {assign.TotalMilliseconds:0} ms, eval q$a + q$b "
                + $"{eval.TotalMilliseconds:0} ms");
            bestAssign = assign < bestAssign ? assign : bestAssign;
            bestEval = eval < bestEval ? eval : bestEval;
        }

        output.WriteLine($"best: assign {bestAssign.TotalMilliseconds:0} ms, eval {bestEval.TotalMilliseconds:0} ms");
        Assert.Equal(Rows, sum!.Length);
        Assert.True(RNa.IsNA(sum.Values[7]));
        for (var i = 0; i < Rows; i++)
        {
            if (i != 7)
            {
                Assert.Equal(a[i] + b[i], sum.Values[i]);
            }
        }
    }

    [Fact]
    public async Task UnsendableValues_AreRefusedBeforeSending()
    {
        await using var r = await rserve.ConnectAsync();
        var function = await r.EvalAsync("function(x) x");

        await Assert.ThrowsAsync<NotSupportedException>(() => r.AssignAsync("f", function));
        await Assert.ThrowsAsync<ArgumentException>(() => r.AssignAsync("s", new RStringVector(["a\0b"])));

        Assert.False(r.IsBroken);
        RAssert.Elements(await r.EvalAsync("1"), 1.0);
    }
}
