#!/usr/bin/env pwsh
# VtsActors build entry point:  dotnet tool restore && dotnet pwsh ./build.ps1 TARGET
#   build  compile everything (Release)
#   test   install the real parts the tests need (OpenSSH server, PostgreSQL 15), run every test project,
#          end with one line "N passed, N failed, N skipped"
#   demo   loopback sshd as the recipient VTS, a node on the embedded journal, and the simulator
#   bench  whole-system benchmarks against real parts on loopback; writes bench/results.md
#          (-Quick for a small, fast run that checks the harness)
#   package  the Debian package artifacts/vtsactors_<version>_amd64.deb (packaging/Build-Package.ps1)
param(
    [Parameter(Position = 0)]
    [ValidateSet('build', 'test', 'demo', 'bench', 'package')]
    [string]$Target = 'build',
    [string]$Configuration = 'Release',
    [switch]$Quick
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$root = $PSScriptRoot

function Invoke-Native([string]$what, [scriptblock]$command) {
    & $command
    if ($LASTEXITCODE -ne 0) { throw "$what failed (exit $LASTEXITCODE)" }
}

function Invoke-Build {
    Invoke-Native 'dotnet build' { dotnet build "$root/VtsActors.sln" -c $Configuration --nologo -v minimal }
    # The node as it ships: ReadyToRun code, framework-dependent. Tests, bench and demo run this one (VTS_NODE_DLL).
    $published = Join-Path $root 'artifacts/vts-node'
    Invoke-Native 'dotnet publish' { dotnet publish "$root/src/Vts.Node" -c $Configuration -r linux-x64 --self-contained false --nologo -v minimal -o $published }
    $env:VTS_NODE_DLL = Join-Path $published 'vts-node.dll'
}

# The tests start a real OpenSSH server (with python3, for the recipient's hashing receiver), throwaway PostgreSQL 15
# servers for the cluster's shared journal (the tests run initdb and pg_ctl themselves), a KMIP key server (pykmip-server,
# with certificates from openssl), an emulated WAN link (network
# namespaces and TUN devices, set up with ip; needs root), and drive the status page in a real headless Chromium; a
# fresh Debian machine may have none of them.
function Install-TestPrerequisites([switch]$Browser) {
    $missing = @()
    if (-not (Test-Path '/usr/sbin/sshd')) { $missing += 'openssh-server' }
    if (-not (Get-Command ssh-keygen -ErrorAction SilentlyContinue)) { $missing += 'openssh-client' }
    if (-not (Test-Path '/usr/bin/python3')) { $missing += 'python3' }
    if (-not (Test-Path '/usr/lib/postgresql/15/bin/initdb')) { $missing += 'postgresql-15' }
    if (-not (Test-Path '/usr/sbin/ip')) { $missing += 'iproute2' } # the emulated WAN link: ip netns, ip link
    if (-not (Test-Path '/usr/bin/pykmip-server')) { $missing += 'python3-pykmip' } # the real KMIP key server (R11)
    if (-not (Get-Command openssl -ErrorAction SilentlyContinue)) { $missing += 'openssl' } # its test certificates
    if (-not (Test-Path '/usr/bin/chattr')) { $missing += 'e2fsprogs' } # an immutable target folder (permission denied)
    if ($Browser -and -not (Test-Path '/usr/bin/chromium')) { $missing += 'chromium' }
    if ($missing.Count -eq 0) { return }
    Write-Host "installing: $($missing -join ', ')"
    $sudo = if ((id -u) -ne '0') { 'sudo' } else { $null }
    $env:DEBIAN_FRONTEND = 'noninteractive'
    if ($sudo) {
        Invoke-Native 'apt-get update' { sudo apt-get update -qq }
        Invoke-Native 'apt-get install' { sudo apt-get install -y -qq --no-install-recommends @missing }
    } else {
        Invoke-Native 'apt-get update' { apt-get update -qq }
        Invoke-Native 'apt-get install' { apt-get install -y -qq --no-install-recommends @missing }
    }
}

# The package the tests install (dpkg -i, an upgrade, dpkg -r and -P: tests/Vts.Integration.Tests/Package).
function Invoke-Package {
    $before = Get-Date
    Invoke-Native 'Build-Package' { & "$root/packaging/Build-Package.ps1" -Configuration $Configuration }
    $deb = Get-ChildItem "$root/artifacts" -Filter 'vtsactors_*_amd64.deb' | Where-Object { $_.LastWriteTime -ge $before } |
        Sort-Object LastWriteTime | Select-Object -Last 1
    if (-not $deb) { throw 'Build-Package made no package' }
    $env:VTS_PACKAGE = $deb.FullName
}

function Invoke-Tests {
    Install-TestPrerequisites -Browser
    Invoke-Build
    Invoke-Package
    $results = Join-Path $root 'artifacts/test-results'
    if (Test-Path $results) { Remove-Item -Recurse -Force $results }
    New-Item -ItemType Directory -Force $results | Out-Null

    $failedRuns = 0
    foreach ($project in Get-ChildItem "$root/tests" -Filter '*.csproj' -Recurse) {
        $name = $project.BaseName
        Write-Host "== $name"
        dotnet test $project.FullName -c $Configuration --no-build --nologo `
            --logger "trx;LogFileName=$name.trx" --logger 'console;verbosity=normal' --results-directory $results
        if ($LASTEXITCODE -ne 0) { $failedRuns++ }
    }

    # dotnet test prints one summary per project, not in the form CI reads: add them up from the trx files.
    $passed = 0; $failed = 0; $skipped = 0
    foreach ($trx in Get-ChildItem $results -Filter '*.trx' -Recurse) {
        $counters = ([xml](Get-Content -Raw $trx.FullName)).TestRun.ResultSummary.Counters
        $passed += [int]$counters.passed
        $failed += [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
        $skipped += [int]$counters.total - [int]$counters.executed
    }
    if ($failedRuns -gt 0 -and $failed -eq 0) { $failed = $failedRuns } # a test host that crashed writes no counts
    Write-Host "$passed passed, $failed failed, $skipped skipped"
    if ($failed -gt 0 -or $passed -eq 0) { exit 1 }
}

switch ($Target) {
    'build' { Invoke-Build }
    'test' { Invoke-Tests }
    'package' { Invoke-Package }
    'bench' {
        Install-TestPrerequisites
        Invoke-Build
        $benchArgs = @('--out', "$root/bench/results.md")
        if ($Quick) { $benchArgs = @('--out', "$root/artifacts/bench-quick.md", '--quick', '--tape-mib', '128') }
        Invoke-Native 'vts-bench' { dotnet "$root/bench/Vts.Bench/bin/$Configuration/net10.0/vts-bench.dll" @benchArgs }
    }
    'demo' {
        Install-TestPrerequisites
        Invoke-Build
        & "$root/demo/Demo.ps1" -Configuration $Configuration
        exit $LASTEXITCODE
    }
}
