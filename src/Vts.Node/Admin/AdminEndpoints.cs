using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Serialization;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Prometheus;
using Vts.Admin.Contracts;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.EventLog;
using Vts.AutoCopy.Licensing;
using Vts.AutoCopy.Observability;
using Vts.AutoCopy.Reconcile;
using Vts.AutoCopy.Serialization;

namespace Vts.Node.Admin;

/// <summary>The admin HTTP API (docs/operations.md) that vtsctl and the status page use, plus /metrics and the page itself.</summary>
public static class AdminEndpoints
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);
    private const int MaxJournalEvents = 10_000;

    public static void Map(WebApplication app, VtsSettings settings)
    {
        if (settings.Admin.Token is { } token) app.Use(RequireToken(token));
        app.Use(AnswerTimeoutsAsUnavailable);

        app.MapGet("/", () => Results.Content(StatusPage, "text/html; charset=utf-8"));
        app.MapMetrics(AdminApi.Metrics);
        app.MapGet(AdminApi.Cluster, (Func<AutoCopyService, Task<IResult>>)(async node => Ok(ClusterView((await node.Runtime).System))));
        app.MapPost(AdminApi.ClusterLeave, (AutoCopyService node, AddressRequest request) => ClusterCommand(node, request, leave: true));
        app.MapPost(AdminApi.ClusterDown, (AutoCopyService node, AddressRequest request) => ClusterCommand(node, request, leave: false));
        app.MapGet(AdminApi.Actors, async (AutoCopyService node) =>
        {
            var result = new TaskCompletionSource<IReadOnlyList<string>>();
            (await node.Runtime).System.ActorOf(HierarchyWalker.Props(result));
            return Ok(new ActorTree(await result.Task.WaitAsync(AskTimeout)));
        });
        app.MapGet(AdminApi.Pools, async (AutoCopyService node) =>
        {
            var runtime = await node.Runtime;
            return Ok(PoolViews(runtime, await Summaries(runtime), await Held(runtime)));
        });
        app.MapGet(AdminApi.Tapes, (Func<AutoCopyService, string?, string?, Task<IResult>>)Tapes);
        app.MapGet("/api/tapes/{pool}/{volser}", (Func<AutoCopyService, string, string, Task<IResult>>)Tape);
        app.MapPost("/api/tapes/{pool}/{volser}/retry", (Func<AutoCopyService, string, string, Task<IResult>>)Retry);
        app.MapPost("/api/pools/{pool}/reconcile", (Func<AutoCopyService, string, ReconcileRequest, Task<IResult>>)StartReconcile);
        app.MapGet("/api/pools/{pool}/reconcile", (Func<AutoCopyService, string, Task<IResult>>)GetReconcile);
        app.MapDelete("/api/pools/{pool}/reconcile", (Func<AutoCopyService, string, Task<IResult>>)CancelReconcile);
        app.MapGet(AdminApi.Targets, async (AutoCopyService node) =>
        {
            var runtime = await node.Runtime;
            return Ok(TargetViews(runtime, await runtime.Gate.Ask<GateStatus>(new GetGateStatus(), AskTimeout)));
        });
        app.MapPost("/api/targets/{target}/throttle", (Func<AutoCopyService, string, ThrottleRequest, Task<IResult>>)Throttle);
        app.MapGet(AdminApi.EventLog, (Func<AutoCopyService, string?, string?, Task<IResult>>)EventLog);
        app.MapGet(AdminApi.JournalIds, async (AutoCopyService node) => Ok(await JournalIds(await node.Runtime)));
        app.MapGet("/api/journal/events/{**persistenceId}", (Func<AutoCopyService, string, Task<IResult>>)JournalEvents);
        app.MapGet(AdminApi.License, async (AutoCopyService node) =>
        {
            var license = await (await node.Runtime).Gate.Ask<LicenseState>(new GetLicense(), AskTimeout);
            var today = DateOnly.FromDateTime(DateTime.UtcNow);
            return Ok(new LicenseView(license.Site, license.State, license.CopiesAllowed, license.Detail, license.Holder, license.Features,
                license.Expires, license.EvaluationUntil, license.Held, (license.Expires ?? license.EvaluationUntil)?.DayNumber - today.DayNumber,
                LicenseKey.TrustsTestIssuer));
        });
        app.MapPost(AdminApi.License, (Func<AutoCopyService, LicenseInstallRequest, Task<IResult>>)InstallLicense);
        app.MapGet(AdminApi.Status, async (AutoCopyService node) => Ok(await Status(await node.Runtime)));

        DueCopiesPerTarget(app);
    }

    /// <summary>Every request but the status page's own HTML needs the bearer token. The page holds no data (it asks the
    /// API, with the token, for all it shows), so it loads without one; the operator gives it the token after a '#',
    /// which browsers never send, so it reaches neither the server's logs nor a proxy's. A token in the query string is
    /// refused outright: it would be kept there.</summary>
    private static Func<HttpContext, RequestDelegate, Task> RequireToken(string token)
    {
        var expected = System.Text.Encoding.UTF8.GetBytes($"Bearer {token}");
        return async (context, next) =>
        {
            if (context.Request.Query.ContainsKey("token"))
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsJsonAsync(new ApiError(
                    "a token in the address is refused (it would stay in logs and history): send Authorization: Bearer, or open the page as /#token=…"),
                    AdminApi.Json);
                return;
            }
            var page = context.Request.Path == "/" && HttpMethods.IsGet(context.Request.Method);
            var header = System.Text.Encoding.UTF8.GetBytes(context.Request.Headers.Authorization.ToString());
            if (page || CryptographicOperations.FixedTimeEquals(header, expected))
            {
                await next(context);
                return;
            }
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await context.Response.WriteAsJsonAsync(new ApiError("a bearer token is required (vts.admin.token)"), AdminApi.Json);
        };
    }

    /// <summary>A pool or the journal that does not answer in time is the node being busy, not a server error:
    /// say so in the API's own error shape, so vtsctl can print it.</summary>
    private static async Task AnswerTimeoutsAsUnavailable(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (Exception e) when (e is AskTimeoutException or TimeoutException or TaskCanceledException && !context.RequestAborted.IsCancellationRequested)
        {
            if (context.Response.HasStarted) throw;
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            await context.Response.WriteAsJsonAsync(new ApiError($"the node did not answer in time ({e.Message}); try again"), AdminApi.Json);
        }
    }

    private static IResult Ok<T>(T value) => Results.Json(value, AdminApi.Json);

    private static IResult Error(int status, string message) => Results.Json(new ApiError(message), AdminApi.Json, statusCode: status);

    private static ClusterView ClusterView(ActorSystem system)
    {
        var cluster = Cluster.Get(system);
        var state = cluster.State;
        return new ClusterView(cluster.SelfAddress.ToString(), state.Leader?.ToString(),
            state.Members.Select(m => new MemberView(m.Address.ToString(), m.Status.ToString(), m.Roles.ToList(),
                !state.Unreachable.Contains(m))).ToList());
    }

    private static async Task<IResult> ClusterCommand(AutoCopyService node, AddressRequest request, bool leave)
    {
        var system = (await node.Runtime).System;
        Address address;
        try { address = Address.Parse(request.Address); }
        catch (Exception) { return Error(400, $"'{Printable.Clip(request.Address)}' is not a cluster address (akka.tcp://vts@HOST:PORT)"); }
        var cluster = Cluster.Get(system);
        if (cluster.State.Members.All(m => m.Address != address)) return Error(404, $"no cluster member at {address}");
        if (leave && address == cluster.SelfAddress)
        {
            // The answer goes out first: once this node has left, it stops, and nobody would hear what happened.
            var runtime = await node.Runtime;
            var owned = (await Summaries(runtime)).Where(s => s.Node == runtime.Settings.NodeName).Select(s => s.Pool.Value).ToList();
            _ = Task.Delay(TimeSpan.FromMilliseconds(500)).ContinueWith(_ => cluster.Leave(address), TaskScheduler.Default);
            return Ok(new CommandResult(true,
                $"this node ({runtime.Settings.NodeName}, {address}) leaves the cluster now: its EMS port closes, its " +
                $"{owned.Count} pools ({(owned.Count == 0 ? "none" : string.Join(", ", owned))}) move to the other nodes, where " +
                "transfers it had running start again without counting as failed attempts; then the process stops"));
        }
        if (leave) cluster.Leave(address);
        else cluster.Down(address);
        return Ok(new CommandResult(true, $"{(leave ? "leave" : "down")} requested for {address}"));
    }

    private static async Task<PoolSummary[]> Summaries(NodeRuntime node) =>
        await Task.WhenAll(node.Settings.AutoCopy.Pools.Keys.Order(Comparer<PoolName>.Create((a, b) => string.CompareOrdinal(a.Value, b.Value)))
            .Select(pool => node.Pools.Ask<PoolSummary>(new GetPoolSummary(pool), AskTimeout)));

    /// <summary>R12: why due copies do not start anywhere in the cluster (no valid license), or null.</summary>
    private static async Task<string?> Held(NodeRuntime node)
    {
        try
        {
            var license = await node.Gate.Ask<LicenseState>(new GetLicense(), HeldAskTimeout);
            return LicenseState.HeldBecause(license);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            return null; // the gate is moving: the pools and tapes are shown all the same, without the reason
        }
    }

    /// <summary>The gate answers in milliseconds; while it moves to another node, views go on without its word.</summary>
    private static readonly TimeSpan HeldAskTimeout = TimeSpan.FromSeconds(2);

    private static List<PoolView> PoolViews(NodeRuntime node, IEnumerable<PoolSummary> summaries, string? held) =>
        summaries.Select(summary =>
        {
            var settings = node.Settings.AutoCopy.Pools[summary.Pool];
            var counts = CopyStates.All.ToDictionary(s => s, _ => 0);
            foreach (var (phase, count) in summary.Busy) counts[StateName(phase)] += count;
            var busyIdle = counts[CopyStates.Idle];
            counts[CopyStates.Idle] = Math.Max(busyIdle, TapeFilesIn(node, summary.Pool) - (summary.Busy.Values.Sum() - busyIdle));
            return new PoolView(summary.Pool.Value, summary.Node, settings.Target.Value, settings.TargetPool.Value, counts,
                summary.Mounted, counts[CopyStates.Due] > 0 ? held : null,
                summary.Reconcile is { } run ? View(node.Settings, summary.Pool, run) : null,
                summary.LastAudit is { } audit ? View(node.Settings, summary.Pool, audit) : null);
        }).ToList();

    private static int TapeFilesIn(NodeRuntime node, PoolName pool)
    {
        var folder = Path.Combine(node.Settings.VaultRoot, pool.Value);
        return Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder).Count(f => Volser.TryParse(Path.GetFileName(f), out _, out _))
            : 0;
    }

    private static async Task<IResult> Tapes(AutoCopyService node, string? pool, string? state)
    {
        var runtime = await node.Runtime;
        if (state is not null && !CopyStates.All.Contains(state))
            return Error(400, $"unknown state '{Printable.Clip(state)}' ({string.Join(", ", CopyStates.All)})");
        if (pool is not null && !KnownPool(runtime, pool, out _))
            return Error(404, $"no such pool '{Printable.Clip(pool)}'");
        var held = await Held(runtime);
        CopyPhase? phase = state is null ? null : Enum.GetValues<CopyPhase>().First(p => StateName(p) == state);
        var pools = runtime.Settings.AutoCopy.Pools.Keys.Where(p => pool is null || p.Value == pool)
            .OrderBy(p => p.Value, StringComparer.Ordinal);
        // The pools at once (each pages through its own), in pool order.
        var perPool = await Task.WhenAll(pools.Select(async listed =>
        {
            var views = new List<TapeView>();
            await foreach (var tape in BusyTapes(runtime, listed, phase))
                views.Add(View(runtime.Settings, listed, tape.Volser, tape.State, held));
            return views;
        }));
        return Ok(perPool.SelectMany(views => views).ToList());
    }

    /// <summary>A pool's busy tapes in volser order, a page at a time: a pool owing 100,000 copies is listed whole, and
    /// each answer still crosses nodes in one remote frame.</summary>
    private static async IAsyncEnumerable<BusyTape> BusyTapes(NodeRuntime node, PoolName pool, CopyPhase? phase)
    {
        string? after = null;
        while (true)
        {
            var page = await node.Pools.Ask<PoolTapes>(new GetPoolTapes(pool, phase, after), AskTimeout);
            foreach (var tape in page.Tapes) yield return tape;
            if (!page.More || page.Tapes.Count == 0) yield break;
            after = page.Tapes[^1].Volser;
        }
    }

    private static async Task<IResult> Tape(AutoCopyService node, string pool, string volser)
    {
        var runtime = await node.Runtime;
        if (Resolve(runtime, pool, volser, out var poolName, out var tape) is { } problem) return problem;
        var status = await runtime.Pools.Ask<TapeStatus>(new GetTapeStatus(poolName, tape), AskTimeout);
        if (!status.Known && !File.Exists(Path.Combine(runtime.Settings.VaultRoot, pool, volser)))
            return Error(404, $"no tape {volser} in pool {pool}");
        return Ok(View(runtime.Settings, poolName, volser, status.State, await Held(runtime)) with
        {
            Transfer = status.Transfer is { } t ? View(pool, volser, t.Done, t.Total, t.BytesPerSecond, t.Share) : null,
        });
    }

    private static async Task<IResult> Retry(AutoCopyService node, string pool, string volser)
    {
        var runtime = await node.Runtime;
        if (Resolve(runtime, pool, volser, out var poolName, out var tape) is { } problem) return problem;
        var answer = await runtime.Pools.Ask<RetryAnswer>(new RetryCopy(poolName, tape), AskTimeout);
        return Ok(new CommandResult(answer.Started, answer.Detail));
    }

    /// <summary>Day two: the pool against its target pool, run by the pool's owner; copies made due for what differs,
    /// unless a dry run. Answers once it has started: GET follows it, DELETE cancels it.</summary>
    private static async Task<IResult> StartReconcile(AutoCopyService node, string pool, ReconcileRequest request) =>
        await AskReconcile(node, pool, poolName => new StartReconcile(poolName, request.DryRun, request.VerifyContent));

    private static async Task<IResult> CancelReconcile(AutoCopyService node, string pool) =>
        await AskReconcile(node, pool, poolName => new CancelReconcile(poolName));

    private static async Task<IResult> GetReconcile(AutoCopyService node, string pool)
    {
        var runtime = await node.Runtime;
        if (!KnownPool(runtime, pool, out var poolName)) return Error(404, $"no such pool '{Printable.Clip(pool)}'");
        var answer = await runtime.Pools.Ask<ReconcileAnswer>(new GetReconcile(poolName), AskTimeout);
        return answer.Run is { } run ? Ok(View(runtime.Settings, poolName, run)) : Error(404, $"no reconcile of pool {poolName} has run yet");
    }

    private static async Task<IResult> AskReconcile(AutoCopyService node, string pool, Func<PoolName, IPoolCommand> command)
    {
        var runtime = await node.Runtime;
        if (!KnownPool(runtime, pool, out var poolName)) return Error(404, $"no such pool '{Printable.Clip(pool)}'");
        var answer = await runtime.Pools.Ask<ReconcileAnswer>(command(poolName), AskTimeout);
        return Ok(new ReconcileAnswerView(answer.Done, answer.Detail, answer.Run is { } run ? View(runtime.Settings, poolName, run) : null));
    }

    private static bool KnownPool(NodeRuntime runtime, string pool, out PoolName poolName) =>
        PoolName.TryParse(pool, out poolName, out _) && runtime.Settings.AutoCopy.Pools.ContainsKey(poolName);

    private static ReconcileView View(VtsSettings settings, PoolName pool, ReconcileRun run)
    {
        var poolSettings = settings.AutoCopy.Pools[pool];
        return new ReconcileView(pool.Value, poolSettings.Target.Value, poolSettings.TargetPool.Value, run.Id,
            run.Trigger.ToString().ToLowerInvariant(), run.Outcome.ToString().ToLowerInvariant(), run.Detail, run.DryRun, run.VerifyContent,
            run.StartedAt, run.EndedAt, run.Checked, run.Total, run.SourceTapes, run.TargetTapes, run.MissingCount, run.SizeDiffersCount,
            run.ContentDiffersCount, run.OnlyAtTargetCount, run.Made, run.NotMadeCount, run.Missing, run.SizeDiffers, run.ContentDiffers,
            run.OnlyAtTarget, run.NotMade.Select(n => new NotMadeView(n.Volser, n.Why)).ToList(),
            Math.Round(((run.EndedAt ?? DateTimeOffset.UtcNow) - run.StartedAt).TotalSeconds, 3));
    }

    private static IResult? Resolve(NodeRuntime runtime, string pool, string volser, out PoolName poolName, out Volser tape)
    {
        tape = null!;
        if (!PoolName.TryParse(pool, out poolName, out _) || !runtime.Settings.AutoCopy.Pools.ContainsKey(poolName))
            return Error(404, $"no such pool '{Printable.Clip(pool)}'");
        if (!Volser.TryParse(volser, out tape, out var error)) return Error(400, error);
        return null;
    }

    private static async Task<IResult> EventLog(AutoCopyService node, string? tail, string? since)
    {
        var runtime = await node.Runtime;
        var count = 50;
        if (tail is not null && (!int.TryParse(tail, out count) || count < 1))
            return Error(400, $"tail must be a positive whole number, not '{Printable.Clip(tail)}'");
        DateTimeOffset? from = null;
        if (since is not null)
        {
            if (!DateTimeOffset.TryParse(since, System.Globalization.CultureInfo.InvariantCulture,
                    System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed))
                return Error(400, $"since must be an ISO-8601 time, not '{Printable.Clip(since)}'");
            from = parsed;
        }
        var recent = await runtime.EventLog.Ask<RecentEntries>(new GetRecentEntries(1000), AskTimeout);
        return Ok(recent.Entries.Where(e => from is null || e.Time >= from).TakeLast(count).Select(View).ToList());
    }

    private static SqlReadJournal ReadJournal(ActorSystem system) =>
        PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>("akka.persistence.query.journal.sql");

    private static async Task<List<string>> JournalIds(NodeRuntime node)
    {
        var ids = await ReadJournal(node.System).CurrentPersistenceIds().RunWith(Sink.Seq<string>(), node.System.Materializer());
        // Sharding keeps its own bookkeeping in the journal under actor paths; operators want ours.
        return ids.Where(id => !id.StartsWith('/')).Order(StringComparer.Ordinal).ToList();
    }

    private static async Task<IResult> JournalEvents(AutoCopyService node, string persistenceId)
    {
        var runtime = await node.Runtime;
        // The newest first would need the highest sequence number; the event log is the only long stream, and
        // vtsctl eventlog serves it, so a stream is read from its start up to a bound.
        var envelopes = await ReadJournal(runtime.System).CurrentEventsByPersistenceId(persistenceId, 0, long.MaxValue)
            .Take(MaxJournalEvents)
            .RunWith(Sink.Seq<EventEnvelope>(), runtime.System.Materializer())
            .WaitAsync(AskTimeout);
        if (envelopes.Count == 0) return Error(404, $"no journal events for '{Printable.Clip(persistenceId, 80)}'");
        var serialization = runtime.System.Serialization;
        return Ok(envelopes.Select(e => new JournalEventView(e.SequenceNr,
            serialization.FindSerializerFor(e.Event) is SerializerWithStringManifest s ? s.Manifest(e.Event) : e.Event.GetType().Name,
            Timestamp(e.Timestamp),
            JsonSerializer.SerializeToElement(e.Event, e.Event.GetType(), VtsSerializer.Json))).ToList());
    }

    /// <summary>The SQL journal stores ticks; other journals store Unix milliseconds.</summary>
    private static DateTimeOffset Timestamp(long value) =>
        value > DateTimeOffset.UnixEpoch.Ticks ? new DateTimeOffset(value, TimeSpan.Zero) : DateTimeOffset.FromUnixTimeMilliseconds(value);

    private static async Task<StatusView> Status(NodeRuntime node)
    {
        var gate = await node.Gate.Ask<GateStatus>(new GetGateStatus(), AskTimeout);
        var recent = await node.EventLog.Ask<RecentEntries>(new GetRecentEntries(20), AskTimeout);
        var targets = TargetViews(node, gate);
        // One round of questions to the pools serves both the counts and the list of what is owed.
        var summaries = await Summaries(node);
        var held = gate.Held;
        var owed = summaries
            .SelectMany(summary => summary.OldestOwed.Select(t => View(node.Settings, summary.Pool, t.Volser, t.State, held)))
            .OrderBy(t => t.DueSince ?? DateTimeOffset.MaxValue).Take(PoolSummary.OldestOwedShown).ToList();
        return new StatusView(node.Settings.NodeName, DateTimeOffset.UtcNow, PoolViews(node, summaries, held), targets, owed,
            recent.Entries.Reverse().Select(View).ToList(), CopyThroughput.Copies, CopyThroughput.Bytes,
            Math.Round(CopyThroughput.MiBPerSecondLastMinute(), 3), held);
    }

    private static List<TargetView> TargetViews(NodeRuntime node, GateStatus gate) =>
        node.Settings.AutoCopy.Targets.Keys.OrderBy(t => t.Value, StringComparer.Ordinal).Select(t =>
        {
            var queue = gate.Targets.FirstOrDefault(q => q.Target == t);
            var configured = node.Settings.AutoCopy.Targets[t].Bandwidth.Limit;
            return queue is null
                ? new TargetView(t.Value, 0, 0, gate.SlotsPerTarget, configured, Rate.Format(configured), "configuration", 0, [], [])
                : new TargetView(t.Value, queue.Running, queue.Waiting, gate.SlotsPerTarget, queue.Limit, Rate.Format(queue.Limit),
                    queue.LimitSource, queue.BytesPerSecond,
                    queue.Transfers.Select(r => View(r.Pool.Value, r.Volser.Value, r.Done, r.Total, r.BytesPerSecond, r.Share)).ToList(),
                    queue.History.Select(h => new TargetSampleView(h.At, h.BytesPerSecond, h.Running, h.Waiting)).ToList());
        }).ToList();

    private static TransferView View(string pool, string volser, long done, long total, long bytesPerSecond, long? share) =>
        new(pool, volser, done, total, bytesPerSecond,
            bytesPerSecond > 0 ? Math.Round((total - done) / (double)bytesPerSecond, 1) : null, share);

    /// <summary>R12: a key for the whole cluster, checked and journaled by the gate's license book.</summary>
    private static async Task<IResult> InstallLicense(AutoCopyService node, LicenseInstallRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.Key)) return Error(400, "no license key given");
        if (request.Key.Length > LicenseKey.MaxLength)
            return Error(400, $"a license key is at most {LicenseKey.MaxLength} characters; this is {request.Key.Length}");
        var answer = await (await node.Runtime).Gate.Ask<LicenseInstallAnswer>(new InstallLicense(request.Key), AskTimeout);
        return Ok(new CommandResult(answer.Installed, answer.Detail));
    }

    /// <summary>R13; docs/configuration.md, Bandwidth limits: an operator's limit for a target, over the whole cluster, journaled by the gate.</summary>
    private static async Task<IResult> Throttle(AutoCopyService node, string target, ThrottleRequest request)
    {
        var runtime = await node.Runtime;
        var name = runtime.Settings.AutoCopy.Targets.Keys.FirstOrDefault(t => t.Value == target);
        if (name is null)
            return Error(404, $"no such target '{Printable.Clip(target)}' (configured: " +
                              $"{string.Join(", ", runtime.Settings.AutoCopy.Targets.Keys.Select(t => t.Value).DefaultIfEmpty("none"))})");
        var lift = request.Rate == "configured";
        long? limit = null;
        if (!lift && !Rate.TryParse(request.Rate, out limit, out var error)) return Error(400, $"{error}, or configured to lift an override");
        TimeSpan? lasting = null;
        if (request.For is not null)
        {
            if (lift) return Error(400, "--for goes with a rate; configured lifts the override for good");
            if (ThrottleDuration(request.For) is not { } parsed)
                return Error(400, $"'{Printable.Clip(request.For)}' is not a duration from 1m to 30d (e.g. 90s, 30m, 2h, 1d)");
            lasting = parsed;
        }
        var answer = await runtime.Gate.Ask<ThrottleAnswer>(new ThrottleTarget(name, limit, lasting, lift), AskTimeout);
        // Journaled by the gate once it answers: the event log keeps who changed the limit, where and when.
        if (answer.Done)
            runtime.EventLog.Tell(new EventLogEntry(DateTimeOffset.UtcNow, Severity.Info, MessageIds.BandwidthThrottled,
                runtime.Settings.NodeName, null, null, $"operator: {answer.Detail}"));
        return Ok(new CommandResult(answer.Done, answer.Detail));
    }

    private static TimeSpan? ThrottleDuration(string text)
    {
        if (text.Length is < 2 or > 8 || !int.TryParse(text[..^1], System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var n)) return null;
        TimeSpan? span = text[^1] switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            _ => null,
        };
        return span is { } s && s >= TimeSpan.FromMinutes(1) && s <= TimeSpan.FromDays(30) ? s : null;
    }

    /// <summary>Due copies and the oldest one's age per target are read from the pools when Prometheus scrapes.</summary>
    private static void DueCopiesPerTarget(WebApplication app)
    {
        var node = app.Services.GetService(typeof(AutoCopyService)) as AutoCopyService;
        Metrics.DefaultRegistry.AddBeforeCollectCallback(async cancel =>
        {
            if (node is null || !node.Runtime.IsCompleted) return;
            var runtime = await node.Runtime;
            PoolSummary[] summaries;
            try { summaries = await Summaries(runtime); }
            catch (Exception e) when (e is AskTimeoutException or TimeoutException) { return; } // keep the last figures; the rest of /metrics still answers
            foreach (var target in runtime.Settings.AutoCopy.Targets.Keys.Select(t => t.Value))
            {
                var mine = summaries.Where(s => runtime.Settings.AutoCopy.Pools[s.Pool].Target.Value == target).ToList();
                AutoCopyMetrics.CopiesDue.WithLabels(target).Set(mine.Sum(s => s.Owed));
                var oldest = mine.Select(s => s.OldestDueSince).Min();
                AutoCopyMetrics.OldestDueAge.WithLabels(target).Set(oldest is { } at ? (DateTimeOffset.UtcNow - at).TotalSeconds : 0);
            }
        });
    }

    private static string StateName(CopyPhase phase) => phase switch
    {
        CopyPhase.Idle => CopyStates.Idle,
        CopyPhase.Due => CopyStates.Due,
        CopyPhase.Copying => CopyStates.Copying,
        CopyPhase.WaitingToRetry => CopyStates.WaitingToRetry,
        CopyPhase.Failed => CopyStates.Failed,
        _ => phase.ToString().ToLowerInvariant(),
    };

    /// <param name="held">why due copies are held (R12); shown on a tape that is due.</param>
    private static TapeView View(VtsSettings settings, PoolName pool, string volser, TapeCopyState state, string? held = null) => new(
        pool.Value, volser, StateName(state.Phase),
        state.Mounted switch { MountMode.Ring => "ring", MountMode.NoRing => "noring", _ => null },
        state.Attempts, settings.AutoCopy.Retry.MaxAttempts, state.DueSince, state.NextAttemptAt, state.LastError,
        state.LastCopy is { } c
            ? new LastCopyView(c.Size, c.Sha256, Math.Round(c.Duration.TotalSeconds, 3),
                c.Duration > TimeSpan.Zero ? Math.Round(c.Size / (1024.0 * 1024.0) / c.Duration.TotalSeconds, 1) : 0, c.At)
            : null,
        Held: state.Phase == CopyPhase.Due ? held : null);

    private static EventLogView View(EventLogEntry e) =>
        new(e.Time, e.Severity.ToString().ToLowerInvariant(), e.MessageId, e.Node, e.Pool, e.Volser, e.Text);

    private static readonly string StatusPage = LoadStatusPage();

    private static string LoadStatusPage()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("status.html")!;
        return new StreamReader(stream).ReadToEnd();
    }
}
