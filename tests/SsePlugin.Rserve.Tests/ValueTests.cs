namespace SsePlugin.Rserve.Tests;

/// <summary>The value types and helpers on their own, without a server.</summary>
public sealed class ValueTests
{
    [Fact]
    public void IsNA_TellsNaFromNaN()
    {
        Assert.True(RNa.IsNA(RNa.Double));
        Assert.True(double.IsNaN(RNa.Double));
        Assert.True(RNa.IsNA(BitConverter.Int64BitsToDouble(0x7FF80000000007A2)));
        Assert.False(RNa.IsNA(double.NaN));
        Assert.False(RNa.IsNA(BitConverter.Int64BitsToDouble(0x00000000000007A2)));
        Assert.False(RNa.IsNA(0));
    }

    [Fact]
    public void Vector_LengthMustFitTheArray()
    {
        Assert.Equal(2, new RDoubleVector([1, 2, 3], 2).Length);
        Assert.Equal(3, new RIntegerVector([1, 2, 3]).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RStringVector(["a"], 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RLogicalVector([1], -1));
    }

    [Fact]
    public void DataFrame_HasNamesClassAndCompactRowNames()
    {
        var frame = RFrames.DataFrame(["a", "b"], [new RDoubleVector([1, 2]), new RStringVector(["x", "y"])], 2);

        Assert.True(RFrames.IsDataFrame(frame));
        RAssert.Texts(frame.Names, "a", "b");
        RAssert.Texts(frame.Class, "data.frame");
        RAssert.Elements(frame.GetAttribute("row.names")!, RNa.Integer, -2);
        Assert.Equal(2, RFrames.RowCount(frame));
    }

    [Fact]
    public void DataFrame_RefusesMismatchedColumns()
    {
        Assert.Throws<ArgumentException>(
            () => RFrames.DataFrame(["a"], [new RDoubleVector([1, 2]), new RDoubleVector([1, 2])], 2));
        Assert.Throws<ArgumentException>(() => RFrames.DataFrame(["a"], [new RDoubleVector([1, 2, 3], 1)], 2));
    }

    [Fact]
    public void FactorLabels_MapCodesAndNa()
    {
        var factor = new RIntegerVector([2, RNa.Integer, 1])
        {
            Attributes = [new("levels", new RStringVector(["lo", "hi"])), new("class", new RStringVector(["factor"]))],
        };

        Assert.True(RFrames.IsFactor(factor));
        RAssert.Texts(RFrames.FactorLabels(factor), "hi", null, "lo");
        Assert.Throws<ArgumentException>(() => RFrames.FactorLabels(new RIntegerVector([1])));
        Assert.Throws<ArgumentException>(
            () => RFrames.FactorLabels(new RIntegerVector([3]) { Attributes = factor.Attributes }));
    }
}
