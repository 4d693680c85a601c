"""Prototype gas measurement of the redesigned escrow (issue 13): one city-like slot."""
import sys, time
from pathlib import Path
import coincurve
from eth_utils.crypto import keccak
from p2p_energy.solidity.toolchain import find_toolchain
from p2p_energy.solidity.compiler import Compiler
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.accounts import Account
from p2p_energy.chain.backend import Call
from p2p_energy.chain.market import Market, MarketAddresses, deploy_market, market_codec
from p2p_energy.domain.keys import key_address

LOTS = int(sys.argv[1]) if len(sys.argv) > 1 else 60
PER_LOT = int(sys.argv[2]) if len(sys.argv) > 2 else 5
BUYERS = int(sys.argv[3]) if len(sys.argv) > 3 else 254
W = lambda v: v.to_bytes(32, "big")
DT = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
def sep(name, ver, cid, addr):
    return keccak(DT + keccak(text=name) + keccak(text=ver) + W(cid) + bytes(12) + bytes.fromhex(addr[2:]))
def sign(key, digest):
    s = coincurve.PrivateKey(key).sign_recoverable(digest, hasher=None)
    r, ss, v = s[:32], int.from_bytes(s[32:64], "big"), s[64]
    return (r, (ss | (v << 255)).to_bytes(32, "big"))
ASK_T = keccak(text="Ask(uint32 meterId,uint64 slot,uint64 wh,uint64 minWh,uint96 minPricePerKWh)")
BID_T = keccak(text="Bid(address account,uint64 slot,uint64 maxWh,uint96 maxPricePerKWh)")
RD_T = keccak(text="Reading(uint32 meterId,uint64 slot,uint64 exportedWh)")

tc = find_toolchain(Path("."))
compiled = Compiler.for_project(tc, "cancun").compile()
n_acc = 1 + LOTS + BUYERS
opts = ChainOptions(evm_version="cancun", accounts=n_acc, block_gas_limit=1_000_000_000)
anvil = Path("node_modules/.bin/anvil") if Path("node_modules/.bin/anvil").exists() else Path("anvil")
import shutil
anvil = Path(shutil.which("anvil") or "anvil")
_orig = LocalChain.command
LocalChain.command = lambda self, port, out: _orig(self, port, out) + (["--steps-tracing"] if len(sys.argv) > 4 else [])
with LocalChain(anvil, opts) as local:
    chain = local.backend(market_codec(compiled))
    accts = [Account.from_hex(a.private_key) for a in local.accounts]
    keys = [bytes.fromhex(a.private_key.removeprefix("0x")) for a in local.accounts]
    admin = accts[0]
    dep = deploy_market(chain, compiled, admin, genesis=chain.latest_block().timestamp, slot_length=900, grace_period=3600)
    mk = Market(chain, market_codec(compiled), MarketAddresses.of({n: d.address for n, d in dep.items()}))
    print({n: d.gas_used for n, d in dep.items()})
    def sendall(items, gas=1_000_000):
        outs = chain.send([Call(f, s, mk.address(c), mk.codec.encode(f, *a), gas) for s, c, f, a in items])
        bad = [o for o in outs if not o.ok]
        assert not bad, bad[0].error
        return outs
    sellers = accts[1:1 + LOTS]; buyers = accts[1 + LOTS:]
    admin_key = keys[0]
    skeys = keys[1:1 + LOTS]; bkeys = keys[1 + LOTS:]
    fund = 10**12
    setup = {}
    n = len(accts) - 1
    sendall([(admin, "EnergyToken", "mint", (admin.address, fund * n))])
    sendall([(admin, "EnergyToken", "approve", (mk.addresses.escrow, 2**256 - 1))])
    o = sendall([(admin, "EnergyEscrow", "depositFor", ([a.address for a in accts[1:][i:i+200]], [fund // 2] * len(accts[1:][i:i+200]))) for i in range(0, n, 200)], gas=30_000_000)
    setup["depositFor per account"] = sum(x.gas_used for x in o) / n
    meter_keys = [keccak(text=f"m{i}") for i in range(LOTS)]
    o = sendall([(admin, "MeterRegistry", "registerMeters", ([i + 1 for i in range(j, min(j+200, LOTS))], [sellers[i].address for i in range(j, min(j+200, LOTS))], [key_address(meter_keys[i]) for i in range(j, min(j+200, LOTS))])) for j in range(0, LOTS, 200)], gas=30_000_000)
    setup["registerMeters per meter"] = sum(x.gas_used for x in o) / LOTS
    print("setup", setup)
    cid = chain.chain_id
    esep = sep("P2P Energy Escrow", "2", cid, mk.addresses.escrow)
    rsep = sep("P2P Energy Meter Registry", "2", cid, mk.addresses.registry)
    slot = int(mk.view("EnergyEscrow", "currentSlot")) + 1
    price = 12_345_678
    wh = 66
    asks = []
    for i in range(LOTS):
        a = (i + 1, slot, wh * PER_LOT * 2, 10, price)
        d = keccak(b"\x19\x01" + esep + keccak(ASK_T + b"".join(W(x) for x in a)))
        asks.append((a, sign(skeys[i], d)))
    # buyers: sorted by address
    border = sorted(range(len(buyers)), key=lambda j: int(buyers[j].address, 16))
    bids = []
    for j in border:
        b = (buyers[j].address, slot, 10_000, 30_000_000)
        d = keccak(b"\x19\x01" + esep + keccak(BID_T + bytes(12) + bytes.fromhex(b[0][2:]) + W(slot) + W(10_000) + W(30_000_000)))
        bids.append((b, sign(bkeys[j], d)))
    fills = []
    trades = {}  # lot -> list of (buyer, wh, cost)
    k = 0
    for i in range(LOTS):
        for t in range(PER_LOT):
            bi = k % len(bids); k += 1
            cost = -(-wh * price // 1000)
            fills.append((i, bi, wh, price))
            trades.setdefault(i, []).append((bids[bi][0][0], wh, cost))
    t0 = time.time()
    o = sendall([(admin, "EnergyEscrow", "matchOrders", (slot, asks, bids, fills))], gas=100_000_000)
    mg = o[0].gas_used; MATCH_TX = o[0].tx_hash
    print(f"match: {len(fills)} fills, {len(asks)} asks, {len(bids)} bids: gas {mg:,} = {mg/len(fills):,.0f}/trade")
    chain.advance_to(int(mk.view("EnergyEscrow", "slotEnd", slot)))
    proofs = []
    for i in range(LOTS):
        m = i + 1
        r1 = (m, slot, wh * PER_LOT)
        s1 = sign(meter_keys[i], keccak(b"\x19\x01" + rsep + keccak(RD_T + b"".join(W(x) for x in r1))))
        proofs.append(((m, slot, trades[i]), r1, s1))
    batch = 100 if LOTS >= 100 else LOTS
    o = sendall([(admin, "EnergyEscrow", "settleLots", (proofs[:batch],))], gas=100_000_000)
    sg = o[0].gas_used
    print(f"settle {batch} lots x {PER_LOT}: gas {sg:,} = {sg/(batch*PER_LOT):,.0f}/trade")
    if LOTS > batch:
        o = sendall([(admin, "EnergyEscrow", "settleLots", (proofs[batch:],))], gas=100_000_000)
    o = sendall([(buyers[0], "EnergyEscrow", "withdraw", (10**8,))]); print("withdraw", o[0].gas_used)
    pass
    if len(sys.argv) > 4:
        import json, urllib.request, collections
        txh = MATCH_TX
        req = {"jsonrpc": "2.0", "id": 1, "method": "debug_traceTransaction", "params": [txh, {"enableMemory": False, "disableStack": True, "disableStorage": True, "enableReturnData": False}]}
        r = urllib.request.urlopen(urllib.request.Request(chain.url, json.dumps(req).encode(), {"Content-Type": "application/json"}))
        res = json.loads(r.read())["result"]
        logs = res["structLogs"]
        agg = collections.Counter(); cnt = collections.Counter()
        for l in logs:
            agg[l["op"]] += l["gasCost"]; cnt[l["op"]] += 1
        print("steps", len(logs), "total gas", res["gas"])
        for op, g in agg.most_common(25):
            print(f"{op:14} {g:>10,} {cnt[op]:>8,}")
