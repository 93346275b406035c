using System.ComponentModel.DataAnnotations;

namespace SsePlugin.Server.Hosting;

/// <summary>
/// A setting's <see cref="RangeAttribute"/>, reported with its own <see cref="ValidationAttribute.ErrorMessage"/>. The
/// options validator source generator replaces <see cref="RangeAttribute"/> itself by a copy that drops that message
/// (dotnet/runtime#123137) and would tell the administrator "The field ... must be between ..." without the setting's
/// path or meaning; a derived attribute is used as it is.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class SettingRangeAttribute : RangeAttribute
{
    /// <summary>Allows whole numbers from <paramref name="minimum"/> to <paramref name="maximum"/>.</summary>
    /// <param name="minimum">The smallest value allowed.</param>
    /// <param name="maximum">The largest value allowed.</param>
    public SettingRangeAttribute(int minimum, int maximum)
        : base(minimum, maximum)
    {
    }

    /// <summary>Allows numbers from <paramref name="minimum"/> to <paramref name="maximum"/>.</summary>
    /// <param name="minimum">The smallest value allowed (see <see cref="RangeAttribute.MinimumIsExclusive"/>).</param>
    /// <param name="maximum">The largest value allowed.</param>
    public SettingRangeAttribute(double minimum, double maximum)
        : base(minimum, maximum)
    {
    }
}
