using Microsoft.Extensions.Time.Testing;
using Vts.AutoCopy.SecureVts;
using Xunit;

namespace Vts.AutoCopy.Tests.SecureVts;

/// <summary>R11's memory of keys that checked out is bounded in time and in size.</summary>
public sealed class CheckedKeysTests
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void A_key_is_remembered_for_the_time_given_then_no_longer()
    {
        var keys = new CheckedKeys(TapeKeyCheck.Remembered, _clock);
        keys.Add(("kms1", "1", "aa"));
        _clock.Advance(TapeKeyCheck.Remembered - TimeSpan.FromSeconds(1));
        Assert.True(keys.Contains(("kms1", "1", "aa")));
        Assert.False(keys.Contains(("kms1", "1", "bb"))); // another check value is another key
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(keys.Contains(("kms1", "1", "aa")));
    }

    [Fact]
    public void A_node_meeting_a_new_key_every_minute_for_a_day_holds_only_the_last_ten_minutes_of_them()
    {
        var keys = new CheckedKeys(TimeSpan.FromMinutes(10), _clock);
        for (var minute = 0; minute < 24 * 60; minute++)
        {
            keys.Add(("kms1", minute.ToString(System.Globalization.CultureInfo.InvariantCulture), "aa"));
            _clock.Advance(TimeSpan.FromMinutes(1));
        }
        Assert.InRange(keys.Count, 1, 10);
        Assert.True(keys.Contains(("kms1", "1439", "aa")));
        Assert.False(keys.Contains(("kms1", "0", "aa")));
    }
}
