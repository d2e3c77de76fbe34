-- The airports CloudJet flies to are reference data, not demo data: a new production database
-- (which never gets the demo catalogue) needs them before an admin can add a flight, and there is
-- no API to create airports. A database that already has airports (one adopted from the original)
-- is its operator's catalogue and is left exactly as it is.
INSERT OR IGNORE INTO airports (airport_code, airport_name, city, country)
SELECT * FROM (
  SELECT 'ICN' AS airport_code, '인천국제공항' AS airport_name, '서울' AS city, '대한민국' AS country
  UNION ALL SELECT 'GMP', '김포국제공항', '서울', '대한민국'
  UNION ALL SELECT 'NRT', '나리타국제공항', '도쿄', '일본'
  UNION ALL SELECT 'KIX', '간사이국제공항', '오사카', '일본'
  UNION ALL SELECT 'BKK', '수완나품국제공항', '방콕', '태국'
  UNION ALL SELECT 'SYD', '킹스포드스미스공항', '시드니', '호주'
  UNION ALL SELECT 'LAX', '로스앤젤레스국제공항', '로스앤젤레스', '미국'
  UNION ALL SELECT 'CDG', '샤를드골국제공항', '파리', '프랑스'
) reference
WHERE NOT EXISTS (SELECT 1 FROM airports);
