#!/usr/bin/env pwsh
# AutoCopy demo (README): a loopback OpenSSH server plays the recipient VTS, a loopback KMIP server
# (pykmip-server) the key server of SecureVTS, one node runs on the embedded SQLite journal, and vts-sim writes
# tapes (some encrypted) and sends EMS events. The node's event log is shown as copies arrive, every copy is
# checked byte for byte (SHA-256) against what the simulator wrote, and a tape encrypted under a key server the
# node does not know is shown refused (R11).
#
# Run through the build script, which builds first:  dotnet pwsh ./build.ps1 demo
# or, after a build:                                  dotnet pwsh ./demo/Demo.ps1 -Configuration Debug
# Exit code 0 when every tape that should have been copied was copied and verified, 1 otherwise.
param(
    [string]$Configuration = 'Release'
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
# Without this a failing ssh-keygen would go unnoticed and the demo would fail later, far from the cause.
$PSNativeCommandUseErrorActionPreference = $true

$repo = Split-Path -Parent $PSScriptRoot
# The published node when build.ps1 ran (it sets VTS_NODE_DLL), else the one built beside the others.
$nodeDll = if ($env:VTS_NODE_DLL) { $env:VTS_NODE_DLL } else { Join-Path $repo "src/Vts.Node/bin/$Configuration/net10.0/vts-node.dll" }
$simDll = Join-Path $repo "src/Vts.Sim/bin/$Configuration/net10.0/vts-sim.dll"
$sshdExe = '/usr/sbin/sshd'
$poolMap = [ordered]@{ POOL1 = 'DRPOOL1'; POOL2 = 'DRPOOL2' }

$sshdStartSeconds = 10
$nodeReadySeconds = 60
$copyDeadlineSeconds = 120

# ---------------------------------------------------------------------------------------------------------
# Helpers

function Write-Step([string]$Text) {
    Write-Host ''
    Write-Host "== $Text" -ForegroundColor Cyan
}

# Start-Process cannot send stdout and stderr to the same file, and a node's log is only readable with
# both interleaved; so sh does the redirection and then execs, leaving the process id that of the program.
function Start-Logged([string]$LogFile, [string]$FilePath, [string[]]$Arguments) {
    $psi = [System.Diagnostics.ProcessStartInfo]::new('/bin/sh')
    $psi.ArgumentList.Add('-c')
    $psi.ArgumentList.Add('exec "$0" "$@" >"$VTS_DEMO_LOG" 2>&1 </dev/null')
    $psi.ArgumentList.Add($FilePath)
    foreach ($a in $Arguments) { $psi.ArgumentList.Add($a) }
    $psi.Environment['VTS_DEMO_LOG'] = $LogFile
    $psi.UseShellExecute = $false
    [System.Diagnostics.Process]::Start($psi)
}

function Stop-Started([System.Diagnostics.Process]$Process) {
    if ($null -eq $Process) { return }
    try {
        if (-not $Process.HasExited) {
            $Process.Kill($true)
            [void]$Process.WaitForExit(5000)
        }
    }
    catch [System.InvalidOperationException] {
        # It exited between the check and the kill; nothing left to stop.
    }
}

# Binding port 0 lets the OS pick a port nobody uses now; the small race until our server binds it is
# acceptable for a demo and far better than a fixed port that may already be taken.
function Get-FreeLoopbackPort {
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

function Test-LoopbackPort([int]$Port) {
    $client = [System.Net.Sockets.TcpClient]::new()
    try { $client.Connect([System.Net.IPAddress]::Loopback, $Port); $true }
    catch { $false }
    finally { $client.Dispose() }
}

function Get-LogTail([string]$Path, [int]$Lines = 30) {
    if (Test-Path -LiteralPath $Path) { (Get-Content -LiteralPath $Path -Tail $Lines) -join [Environment]::NewLine }
    else { "(no $Path)" }
}

# HOCON strings are JSON-like; quoting them keeps paths with spaces or colons intact.
function ConvertTo-HoconString([string]$Value) {
    '"' + $Value.Replace('\', '\\').Replace('"', '\"') + '"'
}

# The node appends to its event log while we read it, so read only whole lines and remember the byte
# offset: a line (or a multi-byte character) caught half-written is picked up complete on the next poll.
$script:eventLogOffset = 0L
function Read-NewEventLogLines([string]$Path) {
    if (-not (Test-Path -LiteralPath $Path)) { return }
    $fs = [System.IO.FileStream]::new($Path, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read, [System.IO.FileShare]::ReadWrite)
    try {
        $available = $fs.Length - $script:eventLogOffset
        if ($available -le 0) { return }
        [void]$fs.Seek($script:eventLogOffset, [System.IO.SeekOrigin]::Begin)
        $bytes = [byte[]]::new($available)
        $read = 0
        while ($read -lt $available) {
            $n = $fs.Read($bytes, $read, $available - $read)
            if ($n -le 0) { break }
            $read += $n
        }
        $end = [Array]::LastIndexOf($bytes, [byte]10, $read - 1)
        if ($end -lt 0) { return }
        $script:eventLogOffset += $end + 1
        [System.Text.Encoding]::UTF8.GetString($bytes, 0, $end).Split("`n") | Where-Object { $_ -ne '' }
    }
    finally { $fs.Dispose() }
}

# Layout (docs/operations.md, Event log): timestamp|severity|msgID|systemID|IP|server|user|program|text
function Show-EventLogLine([string]$Line) {
    $f = $Line.Split('|', 9)
    if ($f.Count -lt 9) { Write-Host "  $Line"; return }
    $color = switch ($f[1]) { 'WARNING' { 'Yellow' } 'ERROR' { 'Red' } 'CRITICAL' { 'Magenta' } default { 'Gray' } }
    Write-Host ('  {0}  {1,-8} {2}' -f $f[0], $f[1], $f[8].TrimEnd("`r")) -ForegroundColor $color
}

# Hashing a 4 MB file twice a second for every tape adds up; a copy lands by rename, so an unchanged
# length and write time mean unchanged contents.
$script:hashCache = @{}
function Get-CopyState([string]$Path, [string]$ExpectedSha256) {
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) { return 'missing' }
    $item = Get-Item -LiteralPath $Path
    $key = "$($item.Length)|$($item.LastWriteTimeUtc.Ticks)"
    $cached = $script:hashCache[$Path]
    if ($null -eq $cached -or $cached.Key -ne $key) {
        $cached = @{ Key = $key; Hash = (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLowerInvariant() }
        $script:hashCache[$Path] = $cached
    }
    if ($cached.Hash -eq $ExpectedSha256) { 'verified' } else { 'mismatch' }
}

# ---------------------------------------------------------------------------------------------------------

$tmpRoot = if ($env:TMPDIR) { $env:TMPDIR } else { '/tmp' }
$scratch = Join-Path $tmpRoot ('vts-demo-' + [System.IO.Path]::GetRandomFileName().Replace('.', ''))
$vault = Join-Path $scratch 'vault'
$targetVault = Join-Path $scratch 'target-vault'
$stateDir = Join-Path $scratch 'state'
$eventLog = Join-Path $stateDir 'event.log'
$simJson = Join-Path $scratch 'sim.json'

$sshd = $null
$node = $null
$sim = $null
$kms = $null
$succeeded = $false

try {
    foreach ($dll in $nodeDll, $simDll) {
        if (-not (Test-Path -LiteralPath $dll)) { throw "$dll is missing; build with -c $Configuration first (dotnet pwsh ./build.ps1 demo does)" }
    }
    if (-not (Test-Path -LiteralPath $sshdExe)) { throw "$sshdExe is missing; install openssh-server" }
    $dotnet = (Get-Command dotnet -CommandType Application | Select-Object -First 1).Source

    Write-Step "Scratch folder $scratch"
    foreach ($d in $scratch, $vault, $targetVault, $stateDir) { [void](New-Item -ItemType Directory -Force -Path $d) }

    Write-Step 'Recipient VTS: loopback OpenSSH server'
    $hostKey = Join-Path $scratch 'host_key'
    $clientKey = Join-Path $scratch 'client_key'
    & ssh-keygen -q -t ed25519 -N '' -C 'vts-demo-host' -f $hostKey
    & ssh-keygen -q -t ed25519 -N '' -C 'vts-demo-node' -f $clientKey
    $authorizedKeys = Join-Path $scratch 'authorized_keys'
    Copy-Item -LiteralPath "$clientKey.pub" -Destination $authorizedKeys
    # sshd refuses to start as root without its privilege-separation directory; as another user it is not
    # needed and usually cannot be made, so a failure here is not the demo's problem.
    try { [void](New-Item -ItemType Directory -Force -Path '/run/sshd') } catch { }

    $sshPort = Get-FreeLoopbackPort
    $sshdConfig = Join-Path $scratch 'sshd_config'
    $sshdPidFile = Join-Path $scratch 'sshd.pid'
    # StrictModes off: the scratch folder lives under a world-writable /tmp, which sshd would otherwise
    # reject as a home for authorized_keys.
    @(
        "Port $sshPort"
        'ListenAddress 127.0.0.1'
        "HostKey $hostKey"
        "AuthorizedKeysFile $authorizedKeys"
        "PidFile $sshdPidFile"
        'StrictModes no'
        'UsePAM no'
        'PasswordAuthentication no'
        'KbdInteractiveAuthentication no'
        'Subsystem sftp internal-sftp'
    ) | Set-Content -LiteralPath $sshdConfig
    $sshdLog = Join-Path $scratch 'sshd.log'
    $sshd = Start-Logged $sshdLog $sshdExe @('-D', '-e', '-f', $sshdConfig)
    $deadline = [DateTime]::UtcNow.AddSeconds($sshdStartSeconds)
    while (-not (Test-LoopbackPort $sshPort)) {
        if ($sshd.HasExited) { throw "sshd exited with code $($sshd.ExitCode):`n$(Get-LogTail $sshdLog)" }
        if ([DateTime]::UtcNow -gt $deadline) { throw "sshd did not accept connections on 127.0.0.1:$sshPort within $sshdStartSeconds s:`n$(Get-LogTail $sshdLog)" }
        Start-Sleep -Milliseconds 100
    }
    $sshUser = [Environment]::UserName
    # Pinning the fingerprint is how the node trusts the target (R10: never trust-on-first-use).
    $fingerprint = (-split (& ssh-keygen -lf "$hostKey.pub"))[1]
    Write-Host "  sshd on 127.0.0.1:$sshPort, user $sshUser, host key $fingerprint"

    Write-Step 'Key server: loopback KMIP server (pykmip-server) for SecureVTS'
    $kmsDir = Join-Path $scratch 'kms'
    [void](New-Item -ItemType Directory -Force -Path (Join-Path $kmsDir 'policies'))
    $caKey = Join-Path $kmsDir 'ca.key'; $caCert = Join-Path $kmsDir 'ca.crt'
    & openssl req -x509 -newkey rsa:2048 -nodes -days 2 -sha256 -keyout $caKey -out $caCert -subj '/CN=vts-demo-ca' `
        -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>$null
    foreach ($cert in @(
            @{ Name = 'server'; Subject = '/CN=127.0.0.1'; Ext = "extendedKeyUsage=serverAuth`nsubjectAltName=IP:127.0.0.1" },
            # The node and the simulated SecureVTS share one client identity: a key belongs to the client that made it.
            @{ Name = 'vts-node'; Subject = '/CN=vts-node'; Ext = 'extendedKeyUsage=clientAuth' })) {
        $ext = Join-Path $kmsDir "$($cert.Name).ext"
        "basicConstraints=CA:FALSE`nkeyUsage=critical,digitalSignature,keyEncipherment`n$($cert.Ext)" | Set-Content -LiteralPath $ext
        & openssl req -newkey rsa:2048 -nodes -keyout (Join-Path $kmsDir "$($cert.Name).key") -out (Join-Path $kmsDir "$($cert.Name).csr") -subj $cert.Subject 2>$null
        & openssl x509 -req -in (Join-Path $kmsDir "$($cert.Name).csr") -CA $caCert -CAkey $caKey -CAcreateserial -days 2 -sha256 `
            -extfile $ext -out (Join-Path $kmsDir "$($cert.Name).crt") 2>$null
        if ($LASTEXITCODE -ne 0) { throw "openssl could not make the $($cert.Name) certificate" }
    }
    $kmsPort = Get-FreeLoopbackPort
    @(
        '[server]'
        'hostname=127.0.0.1'
        "port=$kmsPort"
        "certificate_path=$(Join-Path $kmsDir 'server.crt')"
        "key_path=$(Join-Path $kmsDir 'server.key')"
        "ca_path=$caCert"
        'auth_suite=TLS1.2'
        "policy_path=$(Join-Path $kmsDir 'policies')"
        'enable_tls_client_auth=True'
        'tls_cipher_suites=TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256'
        "database_path=$(Join-Path $kmsDir 'pykmip.db')"
    ) | Set-Content -LiteralPath (Join-Path $kmsDir 'server.conf')
    $kmsLog = Join-Path $scratch 'kms.log'
    # Killed with its helper processes at the end: it does not stop on SIGTERM in good time.
    $kms = Start-Logged $kmsLog '/usr/bin/python3' @('/usr/bin/pykmip-server', '-f', (Join-Path $kmsDir 'server.conf'), '-l', (Join-Path $kmsDir 'server.log'))
    $deadline = [DateTime]::UtcNow.AddSeconds(60)
    while (-not (Test-LoopbackPort $kmsPort)) {
        if ($kms.HasExited) { throw "pykmip-server exited with code $($kms.ExitCode):`n$(Get-LogTail $kmsLog)" }
        if ([DateTime]::UtcNow -gt $deadline) { throw "pykmip-server did not accept connections on 127.0.0.1:$kmsPort within 60 s" }
        Start-Sleep -Milliseconds 100
    }
    Write-Host "  KMIP server 'kms1' on 127.0.0.1:$kmsPort (TLS both ways); the node knows no key server 'kms2'"
    $kmipArgs = @('--kmip', "127.0.0.1:$kmsPort", '--kmip-ca', $caCert, '--kmip-cert', (Join-Path $kmsDir 'vts-node.crt'),
        '--kmip-key', (Join-Path $kmsDir 'vts-node.key'))

    Write-Step 'Source node'
    $emsPort = Get-FreeLoopbackPort
    $adminPort = Get-FreeLoopbackPort
    $nodeConfig = Join-Path $scratch 'node.hocon'
    $poolLines = foreach ($p in $poolMap.Keys) { "      $p { target = dr, target-pool = $($poolMap[$p]) }" }
    @"
vts {
  node-name = "demo-src"
  state-dir = $(ConvertTo-HoconString $stateDir)
  vault-root = $(ConvertTo-HoconString $vault)
  ems.listen = "127.0.0.1:$emsPort"
  admin.listen = "127.0.0.1:$adminPort"
  securevts {
    enabled = on
    key-servers {
      kms1 {
        host = "127.0.0.1", port = $kmsPort, ca-file = $(ConvertTo-HoconString $caCert)
        client-cert-file = $(ConvertTo-HoconString (Join-Path $kmsDir 'vts-node.crt')), client-key-file = $(ConvertTo-HoconString (Join-Path $kmsDir 'vts-node.key'))
      }
    }
  }
  autocopy {
    retry { interval = 10s, max-attempts = 3 }
    max-concurrent-transfers = 2
    targets {
      dr {
        host = "127.0.0.1", port = $sshPort, user = $(ConvertTo-HoconString $sshUser)
        private-key-file = $(ConvertTo-HoconString $clientKey)
        host-key-sha256 = $(ConvertTo-HoconString $fingerprint)
        vault-root = $(ConvertTo-HoconString $targetVault)
      }
    }
    pools {
$($poolLines -join "`n")
    }
  }
}
"@ | Set-Content -LiteralPath $nodeConfig
    $nodeLog = Join-Path $scratch 'node.log'
    $node = Start-Logged $nodeLog $dotnet @($nodeDll, '--config', $nodeConfig)
    $deadline = [DateTime]::UtcNow.AddSeconds($nodeReadySeconds)
    while (-not ((Test-Path -LiteralPath $nodeLog) -and (Select-String -LiteralPath $nodeLog -SimpleMatch 'ready: EMS on' -Quiet))) {
        if ($node.HasExited) { throw "the node exited with code $($node.ExitCode) before it was ready:`n$(Get-LogTail $nodeLog)" }
        if ([DateTime]::UtcNow -gt $deadline) { throw "the node was not ready within $nodeReadySeconds s:`n$(Get-LogTail $nodeLog)" }
        Start-Sleep -Milliseconds 250
    }
    Write-Host "  $((Select-String -LiteralPath $nodeLog -SimpleMatch 'ready: EMS on' | Select-Object -First 1).Line.Trim())"

    Write-Step 'Simulator: 20 tapes (a fifth encrypted by SecureVTS under a key in kms1), 30 mount/dismount cycles, 4 MiB each, a quarter of the mounts NO RING; and one tape encrypted under kms2'
    # The tape under kms2, first: the node must refuse it (R11), every attempt, while the others copy.
    $refusedJson = Join-Path $scratch 'sim-kms2.json'
    $refusedLog = Join-Path $scratch 'sim-kms2.log'
    $refusedSim = Start-Logged $refusedLog $dotnet (@(
            $simDll, '--vault', $vault, '--ems', "127.0.0.1:$emsPort", '--pools', 'POOL2', '--volser-prefix', 'K', '--id-prefix', 'kms2',
            '--tapes', '1', '--size', '1M', '--noring-share', '0', '--encrypted-share', '1', '--key-server', 'kms2', '--summary', $refusedJson) + $kmipArgs)
    if (-not $refusedSim.WaitForExit(60000) -or $refusedSim.ExitCode -ne 0) { throw "the simulator could not write the kms2 tape:`n$(Get-LogTail $refusedLog)" }
    Write-Host '  event log as it happens:'
    $simLog = Join-Path $scratch 'sim.log'
    $sim = Start-Logged $simLog $dotnet (@(
            $simDll, '--vault', $vault, '--ems', "127.0.0.1:$emsPort", '--pools', ($poolMap.Keys -join ','),
            '--tapes', '20', '--cycles', '30', '--size', '4M', '--rate', '10', '--noring-share', '0.25', '--encrypted-share', '0.2',
            '--summary', $simJson) + $kmipArgs)
    $deadline = [DateTime]::UtcNow.AddSeconds($copyDeadlineSeconds)

    $simSummary = $null
    $expected = @()
    $simOk = $false
    while ($true) {
        foreach ($line in @(Read-NewEventLogLines $eventLog)) { Show-EventLogLine $line }

        if ($null -eq $simSummary -and $sim.HasExited) {
            Write-Host ''
            Get-Content -LiteralPath $simLog | ForEach-Object { Write-Host "  $_" }
            $simOk = $sim.ExitCode -eq 0
            if (-not (Test-Path -LiteralPath $simJson)) { throw "the simulator exited with code $($sim.ExitCode) and wrote no summary" }
            $simSummary = Get-Content -LiteralPath $simJson -Raw | ConvertFrom-Json
            # A tape's latest contents were written during a ring mount, whose dismount made the copy due (R2).
            # A later NO RING mount changes nothing on the tape and only postpones that copy (R5), so every
            # tape the simulator wrote must arrive with exactly its last-written SHA-256.
            $expected = @($simSummary.tapes | Where-Object { $_.writes -gt 0 })
            Write-Host ''
            Write-Host "  waiting for $($expected.Count) copies (deadline $copyDeadlineSeconds s from the simulator's start):"
        }

        if ($null -ne $simSummary) {
            $pending = @($expected | Where-Object {
                    (Get-CopyState (Join-Path $targetVault $poolMap[$_.pool] $_.volser) $_.sha256) -ne 'verified'
                })
            if ($pending.Count -eq 0) { break }
        }
        if ($node.HasExited) { Write-Host "  the node exited with code $($node.ExitCode):`n$(Get-LogTail $nodeLog)" -ForegroundColor Red; break }
        if ([DateTime]::UtcNow -gt $deadline) { Write-Host "  deadline of $copyDeadlineSeconds s passed" -ForegroundColor Red; break }
        Start-Sleep -Milliseconds 500
    }
    # Entries written just before the last copy was seen belong on screen too.
    Start-Sleep -Milliseconds 300
    foreach ($line in @(Read-NewEventLogLines $eventLog)) { Show-EventLogLine $line }
    if ($null -eq $simSummary) { throw 'the simulator did not finish before the deadline' }

    Write-Step 'Result'
    $rows = foreach ($t in $simSummary.tapes | Sort-Object volser) {
        $target = "$($poolMap[$t.pool])/$($t.volser)"
        $lastMount = if ($t.mounts -eq 0) { '-' } elseif ($t.ring) { 'ring' } else { 'noring' }
        $state = if ($t.writes -gt 0) { Get-CopyState (Join-Path $targetVault $target) $t.sha256 } else { 'none' }
        $outcome = switch ($state) {
            'verified' { if ($t.ring) { 'copied, SHA-256 verified' } else { 'copied from its earlier ring mount, SHA-256 verified' } }
            'missing' { 'NOT COPIED: no file at the target' }
            'mismatch' { 'NOT COPIED: target SHA-256 differs from the source' }
            default { if ($t.mounts -eq 0) { 'not mounted' } else { 'not copied: NO RING mounts only (R2)' } }
        }
        [pscustomobject]@{
            Pool = $t.pool; Volser = $t.volser; Target = $target; Mounts = $t.mounts; LastMount = $lastMount
            Encrypted = $(if ($t.encrypted) { 'kms1' } else { '-' }); Bytes = $t.bytes; Result = $outcome; State = $state
        }
    }
    $rows | Format-Table Pool, Volser, Target, Mounts, LastMount, Encrypted, Bytes, Result -AutoSize | Out-String -Width 200 | Write-Host

    # R11: the tape under kms2 was refused, each attempt with its own entry, and is not at the target.
    $refusedTape = (Get-Content -LiteralPath $refusedJson -Raw | ConvertFrom-Json).tapes[0]
    $refusedAtTarget = Test-Path -LiteralPath (Join-Path $targetVault $poolMap[$refusedTape.pool] $refusedTape.volser)
    $refusedEntries = @(Get-Content -LiteralPath $eventLog | Where-Object { $_ -match '\|424011\|' -and $_ -match $refusedTape.volser })
    Write-Host ('  {0}/{1} (encrypted under kms2): {2}, {3} refused attempts in the event log (424011, key server not configured)' -f `
            $refusedTape.pool, $refusedTape.volser, $(if ($refusedAtTarget) { 'AT THE TARGET' } else { 'not copied' }), $refusedEntries.Count) `
        -ForegroundColor ($(if ($refusedAtTarget -or $refusedEntries.Count -eq 0) { 'Red' } else { 'Gray' }))
    $encryptedCopied = @($rows | Where-Object { $_.Encrypted -eq 'kms1' -and $_.State -eq 'verified' })

    $verified = @($rows | Where-Object State -EQ 'verified')
    $failed = @($rows | Where-Object { $_.State -in 'missing', 'mismatch' })
    $noringOnly = @($rows | Where-Object { $_.State -eq 'none' -and $_.Mounts -gt 0 })
    # Summed by hand: Measure-Object on no input returns nothing to read .Sum from under strict mode.
    $totalBytes = 0L
    foreach ($r in $verified) { $totalBytes += [long]$r.Bytes }

    # A copy's final name appears by rename right after the transfer, so its write time is when it finished;
    # measuring from the simulator's first event gives end-to-end latency, not just transfer time.
    $firstEvent = [DateTimeOffset]$simSummary.startedAt
    $lastCopy = $null
    foreach ($r in $verified) {
        $written = [DateTimeOffset](Get-Item -LiteralPath (Join-Path $targetVault $r.Target)).LastWriteTimeUtc
        if ($null -eq $lastCopy -or $written -gt $lastCopy) { $lastCopy = $written }
    }
    $elapsed = if ($null -ne $lastCopy) { [Math]::Max(($lastCopy - $firstEvent).TotalSeconds, 0.001) } else { 0 }
    $perSecond = if ($elapsed -gt 0) { $verified.Count / $elapsed } else { 0 }

    Write-Host ('  copied and verified  : {0} of {1} tapes that were written ({2:N0} bytes)' -f $verified.Count, $expected.Count, $totalBytes)
    Write-Host ('  not copied (NO RING) : {0} tapes mounted NO RING only, so no copy is due (R2)' -f $noringOnly.Count)
    Write-Host ('  missing or mismatched: {0}' -f $failed.Count) -ForegroundColor ($(if ($failed.Count -gt 0) { 'Red' } else { 'Gray' }))
    Write-Host ('  first event -> last copy: {0:N2} s, {1:N2} copies/s' -f $elapsed, $perSecond)
    Write-Host ('  simulator: {0} acks, {1} naks, exit code {2}' -f $simSummary.acks, $simSummary.naks, $sim.ExitCode)

    Write-Host ('  encrypted under kms1 : {0} copied after their key checked out at the key server (R11)' -f $encryptedCopied.Count)
    $succeeded = $simOk -and $failed.Count -eq 0 -and $verified.Count -eq $expected.Count -and $encryptedCopied.Count -gt 0 -and
        -not $refusedAtTarget -and $refusedEntries.Count -gt 0
    if ($succeeded) { Write-Host 'DEMO PASSED: every written tape arrived at the target with the same SHA-256, but the one whose key server the node does not know' -ForegroundColor Green }
    else { Write-Host 'DEMO FAILED' -ForegroundColor Red }
}
catch {
    Write-Host "DEMO FAILED: $($_.Exception.Message)" -ForegroundColor Red
    $succeeded = $false
}
finally {
    Stop-Started $sim
    Stop-Started $node
    Stop-Started $kms
    # The pid file names the listening sshd itself; per-connection children end with their connections.
    $pidFile = Join-Path $scratch 'sshd.pid'
    if (Test-Path -LiteralPath $pidFile) {
        $sshdPid = [int](Get-Content -LiteralPath $pidFile -Raw).Trim()
        Stop-Process -Id $sshdPid -Force -ErrorAction SilentlyContinue
    }
    Stop-Started $sshd
    if ($succeeded) {
        Remove-Item -LiteralPath $scratch -Recurse -Force -ErrorAction SilentlyContinue
    }
    elseif (Test-Path -LiteralPath $scratch) {
        Write-Host "Scratch folder kept for inspection: $scratch (node.log, sshd.log, sim.log, sim.json, state/event.log)" -ForegroundColor Yellow
    }
}

exit ($(if ($succeeded) { 0 } else { 1 }))
