//! The one stylesheet, inlined into every page.
//!
//! Inline, measured against a cacheable file (front page with 14 stories,
//! gzip as served): the CSS is 6,756 bytes raw and 2,196 gzipped on its own,
//! and adds 2,211 bytes to the gzipped page (7,677 with it, 5,466 without).
//! A first visit with a file costs 5,466 + 2,196 bytes plus a second,
//! render-blocking request; inline it is one 7,677-byte response. A return
//! visit would save the 2.2 KB. One round trip on a phone outweighs 2.2 KB,
//! so the CSS stays inline (and the CSP keeps `default-src 'none'`). System fonts only,
//! with CJK fallbacks named explicitly so Traditional Chinese titles do not
//! fall back to a random bitmap font on desktops that have a better one.
//! Narrow screens get stacked table rows instead of horizontal scrolling.
//! Controls (fields, buttons, pill links) are outlined in `--control`, which
//! keeps 3:1 against the page and the cards in both schemes (WCAG 1.4.11);
//! the decorative `--line` is only for separators.

pub const CSS: &str = r#"
:root{color-scheme:light dark;--bg:#fafaf7;--fg:#1d1d1f;--muted:#5c5f66;--line:#d9d9d2;--card:#ffffff;--accent:#0a58a8;--ok:#17693a;--bad:#b0241b;--warn:#7d5400;--code:#efeee8;--add:#e3f4e8;--drop:#fbe7e5;--control:#767a82}
@media (prefers-color-scheme:dark){:root{--bg:#15171a;--fg:#e9e7e4;--muted:#a4a8b0;--line:#34383f;--card:#1d2024;--accent:#8cc2ff;--ok:#79d495;--bad:#ff948b;--warn:#f0c466;--code:#262a30;--add:#183324;--drop:#3a1d1b;--control:#8d929b}}
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Helvetica Neue",Arial,"PingFang TC","Hiragino Sans","Microsoft JhengHei","Noto Sans CJK TC","Source Han Sans TC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;font-size:1.0625rem;line-height:1.6;overflow-wrap:break-word;word-wrap:break-word}
:lang(zh),:lang(ja),:lang(ko){line-height:1.8;letter-spacing:.02em}
header.site,main,footer.site{width:100%;max-width:46rem;margin:0 auto;padding:0 1rem}
.wide{max-width:76rem}
@media (min-width:60rem){td time{white-space:nowrap}}
header.site{padding-top:1rem;padding-bottom:.25rem;border-bottom:1px solid var(--line)}
.brand{font-weight:700;text-decoration:none;color:var(--fg)}
footer.site{margin-top:3rem;padding-top:1rem;padding-bottom:2rem;border-top:1px solid var(--line);color:var(--muted);font-size:.9rem}
a{color:var(--accent);text-underline-offset:.15em}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px;border-radius:3px}
main:focus{outline:none}
.skip-link{position:absolute;left:1rem;top:-4rem;z-index:10;padding:.5rem .9rem;border-radius:6px;background:var(--accent);color:var(--bg);font-weight:600;text-decoration:none}
.skip-link:focus{top:.5rem}
.vh{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
.pager{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;margin:1rem 0}
a:hover{text-decoration-thickness:2px}
h1{font-size:1.75rem;line-height:1.25;margin:1.25rem 0 .75rem}
h2{font-size:1.3rem;line-height:1.3;margin:2rem 0 .75rem}
h3{font-size:1.1rem;line-height:1.35;margin:0 0 .35rem}
p{margin:.5rem 0}
.muted,time{color:var(--muted)}
.lede{font-size:1.125rem}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Noto Sans Mono","Noto Sans Mono CJK TC",monospace;font-size:.92em}
code{background:var(--code);padding:.1em .3em;border-radius:4px;overflow-wrap:anywhere}
.box{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:1rem 1.1rem;margin:1rem 0}
.box>h2:first-child,.story>h1:first-child{margin-top:0}
.follow .handle{font-size:1.1rem;font-weight:600;user-select:all}
.feeds{display:flex;flex-wrap:wrap;gap:.5rem;padding:0;margin:.5rem 0;list-style:none}
.feeds a,.button,button{display:inline-block;padding:.4rem .85rem;border:1px solid var(--control);border-radius:999px;background:var(--card);color:var(--accent);text-decoration:none;font:inherit;font-size:.95rem;line-height:1.4;cursor:pointer}
button.primary,.button.primary{background:var(--accent);border-color:var(--accent);color:var(--bg);font-weight:600}
.stories{list-style:none;padding:0;margin:0}
.story{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:1rem 1.1rem;margin:0 0 1rem}
.story-title a,.story h1{text-decoration:none;color:var(--fg)}
.story-title a:hover{color:var(--accent);text-decoration:underline}
.story h2.story-title{font-size:1.1rem;line-height:1.35;margin:0 0 .35rem}
.meta{font-size:.9rem;color:var(--muted);margin:.25rem 0 .5rem}
.sources{font-size:.95rem}
.sources ul{margin:.25rem 0;padding-left:1.2rem}
.tags{display:flex;flex-wrap:wrap;gap:.35rem;list-style:none;padding:0;margin:.5rem 0 0}
.tags li{font-size:.85rem;color:var(--muted);background:var(--code);border-radius:999px;padding:.05rem .55rem}
.actions{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin-top:.5rem;font-size:.95rem}
nav.admin{display:flex;flex-wrap:wrap;gap:.5rem 1rem;margin:.75rem 0}
.notice,.error{border-radius:10px;padding:.75rem 1rem;margin:1rem 0;border:1px solid}
.notice{border-color:var(--ok);color:var(--ok)}
.error{border-color:var(--bad);color:var(--bad);background:var(--drop)}
.error pre{white-space:pre;overflow-x:auto;margin:.5rem 0 0;padding-bottom:.25rem;color:var(--fg)}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(8rem,1fr));gap:.75rem;margin:0}
.stats div{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.6rem .8rem}
.stats dt{font-size:.85rem;color:var(--muted)}
.stats dd{margin:0;font-size:1.5rem;font-weight:700}
.stats .bad dd{color:var(--bad)}
table{width:100%;border-collapse:collapse;font-size:.92rem;background:var(--card)}
th,td{text-align:left;vertical-align:top;padding:.45rem .55rem;border-bottom:1px solid var(--line)}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
td.reasons{max-width:24rem;color:var(--muted);font-size:.88rem}
.st-ok{color:var(--ok);font-weight:600}
.st-bad{color:var(--bad);font-weight:600}
.st-off{color:var(--muted)}
.pub{color:var(--ok);font-weight:600}
.skip{color:var(--bad);font-weight:600}
tr.added{background:var(--add)}
tr.dropped{background:var(--drop)}
.sign{font-weight:700;font-size:1.1rem}
form.filters{display:flex;flex-wrap:wrap;gap:.75rem;align-items:flex-end;margin:.5rem 0 1rem}
label{display:block;font-size:.9rem;color:var(--muted)}
input,select,textarea{font:inherit;color:var(--fg);background:var(--card);border:1px solid var(--control);border-radius:6px;padding:.4rem .5rem;max-width:100%}
textarea{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Noto Sans Mono","Noto Sans Mono CJK TC",monospace;display:block;width:100%;min-height:18rem;line-height:1.45;tab-size:2;font-size:.9rem}
.fields{display:flex;flex-wrap:wrap;gap:1rem;margin:.75rem 0}
.fields input{width:8rem}
form.inline{display:inline}
@media (max-width:40rem){
body{font-size:1rem}
h1{font-size:1.45rem}
.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.stack,.stack tbody,.stack tr,.stack td{display:block;width:100%}
.stack tr{border:1px solid var(--line);border-radius:10px;margin:0 0 .75rem;padding:.35rem 0}
.stack td{border:0;padding:.2rem .75rem}
.stack td[data-label]::before{content:attr(data-label) ": ";font-size:.8rem;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
td.reasons{max-width:none}
table{background:transparent}
.stack tr{background:var(--card)}
.stack tr.added{background:var(--add)}
.stack tr.dropped{background:var(--drop)}
}
"#;
