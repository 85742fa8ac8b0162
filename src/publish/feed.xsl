<?xml version="1.0" encoding="utf-8"?>
<!--
  feedwatch's feed stylesheet. A browser that opens /feed.xml or /feed.atom
  applies it and shows a readable page with a "how to subscribe" note; feed
  readers ignore the xml-stylesheet instruction and read the same XML.
  XSLT 1.0 (what browsers implement); no scripts, no external loads.
-->
<xsl:stylesheet version="1.0"
  xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:atom="http://www.w3.org/2005/Atom"
  xmlns:dc="http://purl.org/dc/elements/1.1/"
  exclude-result-prefixes="atom dc">
  <xsl:output method="html" encoding="utf-8" indent="yes"
    doctype-system="about:legacy-compat"/>

  <xsl:variable name="title" select="/rss/channel/title | /atom:feed/atom:title"/>
  <xsl:variable name="description" select="/rss/channel/description | /atom:feed/atom:subtitle"/>
  <xsl:variable name="home" select="/rss/channel/link | /atom:feed/atom:link[@rel='alternate']/@href"/>
  <xsl:variable name="feedlang" select="/rss/channel/language | /atom:feed/@xml:lang"/>

  <xsl:template match="/">
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <meta name="color-scheme" content="light dark"/>
        <meta name="robots" content="noindex"/>
        <title><xsl:value-of select="$title"/> (feed)</title>
        <style>
:root{color-scheme:light dark;--bg:#fafaf7;--fg:#1d1d1f;--muted:#595c63;--line:#8a8d93;--card:#fff;--accent:#0a58a8;--note:#eef4fb}
@media (prefers-color-scheme:dark){:root{--bg:#15171a;--fg:#e9e7e4;--muted:#a4a8b0;--line:#7d828b;--card:#1d2024;--accent:#8cc2ff;--note:#1b2633}}
body{margin:0;background:var(--bg);color:var(--fg);font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,"PingFang TC","Microsoft JhengHei","Noto Sans CJK TC",sans-serif;line-height:1.6}
main{max-width:46rem;margin:0 auto;padding:0 1rem 2rem}
a{color:var(--accent)}
a:focus-visible{outline:3px solid var(--accent);outline-offset:2px;border-radius:2px}
:lang(zh),:lang(ja),:lang(ko){line-height:1.8}
.note{background:var(--note);border:1px solid var(--line);border-radius:10px;padding:.75rem 1rem;margin:1rem 0}
.note code{overflow-wrap:anywhere}
ol{list-style:none;padding:0}
li{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.75rem 1rem;margin:0 0 .75rem}
h2{font-size:1.1rem;margin:0 0 .25rem}
.meta{color:var(--muted);font-size:.9rem;margin:0}
        </style>
      </head>
      <body>
        <main>
          <h1 data-testid="feed-title"><xsl:value-of select="$title"/></h1>
          <p><xsl:value-of select="$description"/></p>
          <section class="note" aria-labelledby="subscribe" data-testid="subscribe-note">
            <h2 id="subscribe">How to subscribe</h2>
            <p>This is a news feed. Copy this page's address from the address bar and paste it into your feed reader (NetNewsWire, Feedly, Inoreader, Miniflux, Thunderbird…) to get new stories as they are published.</p>
            <p>Or go to <a href="{$home}">the website</a> to read the stories and follow the Fediverse account.</p>
          </section>
          <h2>Latest stories</h2>
          <ol data-testid="feed-items">
            <xsl:apply-templates select="/rss/channel/item | /atom:feed/atom:entry"/>
          </ol>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="item">
    <xsl:variable name="lang">
      <xsl:choose>
        <xsl:when test="dc:language"><xsl:value-of select="dc:language"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="$feedlang"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <li data-testid="feed-item">
      <h2 lang="{$lang}"><a href="{guid}"><xsl:value-of select="title"/></a></h2>
      <p class="meta"><xsl:value-of select="pubDate"/></p>
      <!-- An RSS description is HTML: feedwatch writes it as escaped text
           (publish::escape_html), so unescaping once yields that text again
           and never markup from a feed. -->
      <p lang="{$lang}"><xsl:value-of select="description" disable-output-escaping="yes"/></p>
    </li>
  </xsl:template>

  <xsl:template match="atom:entry">
    <xsl:variable name="lang">
      <xsl:choose>
        <xsl:when test="@xml:lang"><xsl:value-of select="@xml:lang"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="$feedlang"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <li data-testid="feed-item">
      <h2 lang="{$lang}"><a href="{atom:id}"><xsl:value-of select="atom:title"/></a></h2>
      <p class="meta"><xsl:value-of select="substring(atom:published, 1, 10)"/></p>
      <p lang="{$lang}"><xsl:value-of select="atom:summary"/></p>
    </li>
  </xsl:template>
</xsl:stylesheet>
