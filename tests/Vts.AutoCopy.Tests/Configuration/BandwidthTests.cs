using Akka.Configuration;
using Vts.AutoCopy.Configuration;
using Xunit;

namespace Vts.AutoCopy.Tests.Configuration;

/// <summary>docs/configuration.md: a target's bandwidth limit and schedule, as operators write them.</summary>
public sealed class BandwidthTests
{
    [Theory]
    [InlineData("unlimited", null)]
    [InlineData("200MiB/s", 200L * 1024 * 1024)]
    [InlineData("400Mbit/s", 50_000_000L)]
    [InlineData("50MB/s", 50_000_000L)]
    [InlineData("1.5Gbit/s", 187_500_000L)]
    [InlineData("1 Gbit/s", 125_000_000L)]
    [InlineData("512KiB/s", 524_288L)]
    [InlineData(" 100Mbit/s ", 12_500_000L)]
    public void Rates_are_read_in_the_units_links_are_sold_in(string text, long? bytesPerSecond)
    {
        Assert.True(Rate.TryParse(text, out var parsed, out var error), error);
        Assert.Equal(bytesPerSecond, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("fast")]
    [InlineData("100")]
    [InlineData("100Mbps")]
    [InlineData("100 Mbit")]
    [InlineData("-5MB/s")]
    [InlineData("1e9B/s")]
    [InlineData("100mbit/s")]
    [InlineData("5TB/s")]
    [InlineData("999999999GB/s")]
    [InlineData("100kbit/s")]
    [InlineData("0MB/s")]
    [InlineData("1.23456MB/s")]
    public void A_rate_that_is_not_one_or_out_of_range_is_refused_with_the_text(string text)
    {
        Assert.False(Rate.TryParse(text, out _, out var error));
        Assert.Contains(text.Trim(), error);
    }

    [Fact]
    public void An_oversized_rate_text_is_clipped_in_the_error()
    {
        Assert.False(Rate.TryParse(new string('9', 100_000) + "MB/s", out _, out var error));
        Assert.True(error.Length < 300, error);
    }

    [Theory]
    [InlineData(null, "unlimited")]
    [InlineData(50_000_000L, "400 Mbit/s")]
    [InlineData(125_000_000L, "1 Gbit/s")]
    [InlineData(125_000L, "1 Mbit/s")]
    public void Rates_are_shown_in_bits_per_second(long? bytesPerSecond, string shown) => Assert.Equal(shown, Rate.Format(bytesPerSecond));

    private static BandwidthWindow Window(string? days, string from, string to, string limit = "50MiB/s") =>
        BandwidthWindow.Parse(days, from, to, limit, "test");

    // 2026-11-30 is a Monday.
    private static DateTime At(int day, string time) => new DateTime(2026, 11, 30).AddDays(day).Add(TimeSpan.Parse(time));

    [Fact]
    public void A_working_day_window_covers_its_hours_on_its_days_only()
    {
        var window = Window("Mon-Fri", "07:00", "19:00");
        Assert.True(window.Covers(At(0, "07:00")));
        Assert.True(window.Covers(At(4, "18:59")));
        Assert.False(window.Covers(At(0, "06:59")));
        Assert.False(window.Covers(At(0, "19:00")));
        Assert.False(window.Covers(At(5, "12:00"))); // Saturday
    }

    [Fact]
    public void A_window_ending_before_it_starts_runs_over_midnight_from_the_days_it_starts_on()
    {
        var night = Window("Fri", "22:00", "06:00");
        Assert.True(night.Covers(At(4, "23:30")));  // Friday night
        Assert.True(night.Covers(At(5, "05:59")));  // Saturday early: started Friday
        Assert.False(night.Covers(At(5, "06:00")));
        Assert.False(night.Covers(At(5, "23:00"))); // Saturday night: not a Friday start
        Assert.False(night.Covers(At(4, "05:00"))); // Friday early: Thursday's night, not listed
    }

    [Fact]
    public void Day_ranges_may_wrap_the_week_and_lists_may_mix_ranges_and_days()
    {
        var weekend = Window("Fri-Mon", "00:00", "24:00");
        Assert.True(weekend.Covers(At(6, "12:00")));  // Sunday
        Assert.True(weekend.Covers(At(0, "23:59")));  // Monday
        Assert.False(weekend.Covers(At(1, "12:00"))); // Tuesday
        var some = Window("mon, Wed-Thu", "09:00", "10:00");
        Assert.True(some.Covers(At(0, "09:30")));
        Assert.True(some.Covers(At(3, "09:30")));
        Assert.False(some.Covers(At(1, "09:30")));
        Assert.True(Window(null, "09:00", "10:00").Covers(At(6, "09:00"))); // days left out: every day
    }

    [Fact]
    public void The_first_window_that_covers_the_time_wins_else_the_configured_limit()
    {
        var bandwidth = new BandwidthSettings(100_000_000, [
            Window("Mon-Fri", "07:00", "19:00", "10MB/s"),
            Window(null, "00:00", "24:00", "20MB/s"),
        ]);
        Assert.Equal(new LimitNow(10_000_000, "schedule Mon-Fri 07:00-19:00"), bandwidth.At(At(0, "08:00")));
        Assert.Equal(new LimitNow(20_000_000, "schedule every day 00:00-24:00"), bandwidth.At(At(0, "20:00")));
        Assert.Equal(new LimitNow(null, "configuration"), BandwidthSettings.Unlimited.At(At(0, "08:00")));
        Assert.Equal(new LimitNow(100_000_000, "configuration"),
            new BandwidthSettings(100_000_000, [Window("Sat", "00:00", "24:00")]).At(At(0, "08:00")));
    }

    [Theory]
    [InlineData("Mon-Fry", "07:00", "19:00", "50MiB/s", "days")]
    [InlineData("Mon--Fri", "07:00", "19:00", "50MiB/s", "days")]
    [InlineData("Mon-Fri", "7:00", "19:00", "50MiB/s", "from")]
    [InlineData("Mon-Fri", "07:00", "25:00", "50MiB/s", "to")]
    [InlineData("Mon-Fri", "24:00", "06:00", "50MiB/s", "from")]
    [InlineData("Mon-Fri", "07:00", "07:00", "50MiB/s", "from and to")]
    [InlineData("Mon-Fri", "07:00", "19:00", "lots", "limit")]
    [InlineData("Mon-Fri", null, "19:00", "50MiB/s", "from is required")]
    [InlineData("Mon-Fri", "07:00", "19:00", null, "limit is required")]
    public void A_bad_window_is_refused_naming_its_part(string? days, string? from, string? to, string? limit, string named)
    {
        var e = Assert.Throws<ConfigurationInvalidException>(() => BandwidthWindow.Parse(days, from, to, limit, "w"));
        Assert.Contains(named, e.Message);
    }
}
